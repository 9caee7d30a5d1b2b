{{- /*
Go template helpers prepended to every template of the pod Stages (pod-stages.yaml).

kwok renders a Stage's templates with the pod (as JSON) as data, text/template plus the
sprig functions.  A template cannot return a value, so the helpers that compute one
store it in the "out" dict they are given (sprig dicts are shared by reference).

  kubesim.start    one container (re)starting now: ErrImagePull when the image cannot
                   be pulled, else running (ready, or not yet, per the knobs)
  kubesim.advance  start the next init container(s), or the main containers once every
                   init container is done
  kubesim.exit     the terminated state and restart of a container exiting now
  kubesim.status   the status patch: phase and conditions derived from the container
                   statuses the way the kubelet derives them
  kubesim.knobs    the pod's knobs (tests/kubesim/knobs.py semantics)
  kubesim.find     the first container status in a given state, init containers first
  kubesim.event    a core/v1 Event written as the kubelet writes it
  kubesim.startEvent  the three Events of a container (re)start: Pulled, Created,
                   Started, or Pulling, Failed, Failed when the pull fails
*/ -}}

{{- define "kubesim.knobs" -}}
  {{- /* The pod's knobs (tests/kubesim/knobs.py semantics) into .out */ -}}
  {{- $ann := .pod.metadata.annotations | default dict -}}
  {{- $crash := index $ann "kubesim.lain.dev/crash" | default "" -}}
  {{- $crashes := 0 -}}
  {{- if or (eq $crash "always") (eq $crash "true") -}}{{- $crashes = 1000000000 -}}{{- else if $crash -}}{{- $crashes = atoi $crash -}}{{- end -}}
  {{- $_ := set .out "crashes" $crashes -}}
  {{- $_ := set .out "oom" (has (index $ann "kubesim.lain.dev/oom" | default "") (list "true" "1" "yes")) -}}
  {{- $ready := index $ann "kubesim.lain.dev/ready" | default "" -}}
  {{- $_ := set .out "neverReady" (or (eq $ready "never") (eq $ready "false")) -}}
  {{- $_ := set .out "readyLater" (gt (float64 (index $ann "kubesim.lain.dev/ready-after" | default "0")) 0.0) -}}
  {{- $_ := set .out "pull" (index $ann "kubesim.lain.dev/pull" | default "") -}}
  {{- $code := index $ann "kubesim.lain.dev/exit-code" | default "" -}}
  {{- $_ := set .out "exitCode" (ternary (atoi $code) -1 (ne $code "")) -}}
  {{- $_ := set .out "policy" (.pod.spec.restartPolicy | default "Always") -}}
{{- end -}}

{{- define "kubesim.start" -}}
  {{- $pod := .pod -}}{{- $c := .c -}}{{- $old := .old | default dict -}}{{- $now := .now -}}
  {{- $image := $c.image | default "" -}}
  {{- $segs := splitList "/" $image -}}
  {{- $first := first $segs -}}
  {{- $nameParts := splitList ":" (last $segs) -}}
  {{- $tag := "" -}}{{- if gt (len $nameParts) 1 -}}{{- $tag = index $nameParts 1 -}}{{- end -}}
  {{- $repo := join "/" (append (initial $segs) (first $nameParts)) -}}
  {{- $hasRegistry := and (gt (len $segs) 1) (or (contains "." $first) (contains ":" $first) (eq $first "localhost")) -}}
  {{- if not $hasRegistry -}}
    {{- if gt (len $segs) 1 -}}{{- $repo = printf "docker.io/%s" $repo -}}{{- else -}}{{- $repo = printf "docker.io/library/%s" $repo -}}{{- end -}}
  {{- end -}}
  {{- $ref := printf "%s:%s" $repo ($tag | default "latest") -}}
  {{- $_ := set .out "ref" $ref -}}
  {{- $k := dict -}}{{- template "kubesim.knobs" (dict "pod" $pod "out" $k) -}}
  {{- $pullFails := or (eq $k.pull "fail") (eq $tag "notfound") -}}
  {{- $rc := atoi (toString (dig "restartCount" 0 $old)) -}}
  {{- $lastState := dig "lastState" (dict) $old -}}
  {{- $policy := $k.policy -}}
  {{- $sidecar := and .init (eq ($c.restartPolicy | default "") "Always") -}}
  {{- $ready := false -}}
  {{- if $sidecar -}}{{- $ready = true -}}
  {{- else if .init -}}{{- $ready = false -}}
  {{- else if ne $policy "Always" -}}{{- $ready = not $k.neverReady -}}
  {{- else -}}{{- $ready = and (not $k.neverReady) (not $k.readyLater) (ge $rc $k.crashes) -}}
  {{- end -}}
  {{- if $pullFails -}}
    {{- $detail := printf "rpc error: code = NotFound desc = failed to pull and unpack image %s: failed to resolve reference %s: %s: not found" (quote $ref) (quote $ref) $ref -}}
    {{- $_ := set .out "detail" $detail -}}
    {{- $_ := set .out "status" (dict "name" $c.name "image" $image "imageID" "" "ready" false "started" false "restartCount" $rc "lastState" $lastState "state" (dict "waiting" (dict "reason" "ErrImagePull" "message" (printf "Failed to pull image %s: %s" (quote $image) $detail)))) -}}
  {{- else -}}
    {{- $id := printf "%s/%s/%d/%s" $pod.metadata.uid $c.name $rc $now | sha256sum -}}
    {{- $_ := set .out "status" (dict "name" $c.name "image" $image "imageID" (printf "%s@sha256:%s" $repo (sha256sum $ref)) "containerID" (printf "containerd://%s" $id) "ready" $ready "started" true "restartCount" $rc "lastState" $lastState "state" (dict "running" (dict "startedAt" $now))) -}}
  {{- end -}}
{{- end -}}

{{- define "kubesim.advance" -}}
  {{- $pod := .pod -}}{{- $now := .now -}}
  {{- $specInits := $pod.spec.initContainers | default list -}}
  {{- $ics := list -}}{{- $blocked := false -}}
  {{- range $i, $s := .ics -}}
    {{- $spec := index $specInits $i -}}
    {{- $new := $s -}}
    {{- if not $blocked -}}
      {{- $sidecar := eq ($spec.restartPolicy | default "") "Always" -}}
      {{- if eq (dig "state" "waiting" "reason" "" $s) "PodInitializing" -}}
        {{- $out := dict -}}
        {{- template "kubesim.start" (dict "pod" $pod "c" $spec "old" $s "now" $now "init" true "out" $out) -}}
        {{- $new = $out.status -}}
        {{- if not (and $sidecar (dig "state" "running" "" $new)) -}}{{- $blocked = true -}}{{- end -}}
      {{- else if dig "state" "terminated" "" $s -}}
      {{- else if and $sidecar (dig "state" "running" "" $s) -}}
      {{- else -}}{{- $blocked = true -}}
      {{- end -}}
    {{- end -}}
    {{- $ics = append $ics $new -}}
  {{- end -}}
  {{- $cs := list -}}
  {{- range $i, $s := .cs -}}
    {{- $new := $s -}}
    {{- if and (not $blocked) (eq (dig "state" "waiting" "reason" "" $s) "PodInitializing") -}}
      {{- $out := dict -}}
      {{- template "kubesim.start" (dict "pod" $pod "c" (index $pod.spec.containers $i) "old" $s "now" $now "init" false "out" $out) -}}
      {{- $new = $out.status -}}
    {{- end -}}
    {{- $cs = append $cs $new -}}
  {{- end -}}
  {{- $_ := set .out "ics" $ics -}}
  {{- $_ := set .out "cs" $cs -}}
{{- end -}}

{{- define "kubesim.exit" -}}
  {{- /* .s: a running container status; .code: its exit code; .restart: whether the
         kubelet restarts it (CrashLoopBackOff) */ -}}
  {{- $pod := .pod -}}{{- $s := .s -}}{{- $now := .now -}}
  {{- $k := dict -}}{{- template "kubesim.knobs" (dict "pod" $pod "out" $k) -}}
  {{- $reason := "Error" -}}
  {{- if eq .code 0 -}}{{- $reason = "Completed" -}}{{- else if $k.oom -}}{{- $reason = "OOMKilled" -}}{{- end -}}
  {{- $terminated := dict "exitCode" .code "reason" $reason "startedAt" (dig "state" "running" "startedAt" $now $s) "finishedAt" $now "containerID" (dig "containerID" "" $s) -}}
  {{- $new := omit $s "state" "ready" "started" -}}
  {{- $_ := set $new "ready" false -}}
  {{- $_ := set $new "started" false -}}
  {{- if .restart -}}
    {{- $rc := add1 (atoi (toString (dig "restartCount" 0 $s))) -}}
    {{- $backoff := 10 -}}{{- range until (int (sub $rc 1)) -}}{{- $backoff = min 300 (mul $backoff 2) -}}{{- end -}}
    {{- $_ := set $new "restartCount" $rc -}}
    {{- $_ := set $new "lastState" (dict "terminated" $terminated) -}}
    {{- $_ := set $new "state" (dict "waiting" (dict "reason" "CrashLoopBackOff" "message" (printf "back-off %ds restarting failed container=%s pod=%s_%s(%s)" (int $backoff) $s.name $pod.metadata.name $pod.metadata.namespace $pod.metadata.uid))) -}}
  {{- else -}}
    {{- $_ := set $new "state" (dict "terminated" $terminated) -}}
  {{- end -}}
  {{- $_ := set .out "status" $new -}}
{{- end -}}

{{- define "kubesim.status" -}}
  {{- $pod := .pod -}}{{- $now := .now -}}
  {{- $policy := $pod.spec.restartPolicy | default "Always" -}}
  {{- $specInits := $pod.spec.initContainers | default list -}}
  {{- $initialized := true -}}{{- $pendingInits := list -}}
  {{- range $i, $s := .ics -}}
    {{- $spec := index $specInits $i -}}
    {{- $done := false -}}
    {{- if eq ($spec.restartPolicy | default "") "Always" -}}{{- $done = dig "started" false $s -}}
    {{- else -}}{{- $done = eq (toString (dig "state" "terminated" "exitCode" "-" $s)) "0" -}}
    {{- end -}}
    {{- if not $done -}}{{- $initialized = false -}}{{- $pendingInits = append $pendingInits $s.name -}}{{- end -}}
  {{- end -}}
  {{- $allReady := gt (len .cs) 0 -}}{{- $unready := list -}}
  {{- $terminated := 0 -}}{{- $failed := false -}}{{- $active := false -}}
  {{- range .cs -}}
    {{- if not .ready -}}{{- $allReady = false -}}{{- $unready = append $unready .name -}}{{- end -}}
    {{- $t := dig "state" "terminated" "" . -}}
    {{- if $t -}}
      {{- $terminated = add1 $terminated -}}
      {{- if ne (toString (dig "exitCode" 0 $t)) "0" -}}{{- $failed = true -}}{{- end -}}
    {{- end -}}
    {{- if or (dig "state" "running" "" .) $t (gt (atoi (toString (dig "restartCount" 0 .))) 0) -}}{{- $active = true -}}{{- end -}}
  {{- end -}}
  {{- $phase := "Pending" -}}
  {{- if and (ne $policy "Always") (gt (len .cs) 0) (eq $terminated (len .cs)) -}}{{- $phase = ternary "Failed" "Succeeded" $failed -}}
  {{- else if $active -}}{{- $phase = "Running" -}}
  {{- end -}}
  {{- $done := or (eq $phase "Succeeded") (eq $phase "Failed") -}}
  {{- $ready := and $allReady (not $done) -}}
  {{- $readyReason := "" -}}{{- $readyMessage := "" -}}
  {{- if $done -}}{{- $readyReason = "PodCompleted" -}}
  {{- else if not $ready -}}
    {{- $readyReason = "ContainersNotReady" -}}
    {{- $readyMessage = printf "containers with unready status: [%s]" (join " " $unready) -}}
  {{- end -}}
  {{- $initMessage := "" -}}
  {{- if not $initialized -}}{{- $initMessage = printf "containers with incomplete status: [%s]" (join " " $pendingInits) -}}{{- end -}}
  {{- $old := dict -}}
  {{- range ($pod.status.conditions | default list) -}}{{- $_ := set $old .type . -}}{{- end -}}
  {{- $wanted := list
        (list "PodReadyToStartContainers" true "" "")
        (list "Initialized" $initialized (ternary "" "ContainersNotInitialized" $initialized) $initMessage)
        (list "Ready" $ready $readyReason $readyMessage)
        (list "ContainersReady" $ready $readyReason $readyMessage) -}}
  {{- $conditions := list -}}
  {{- range $wanted -}}
    {{- $type := index . 0 -}}
    {{- $status := ternary "True" "False" (index . 1) -}}
    {{- $since := $now -}}
    {{- $prev := index $old $type -}}
    {{- if and $prev (eq (toString $prev.status) $status) -}}{{- $since = $prev.lastTransitionTime -}}{{- end -}}
    {{- $probed := index (dict) "null" -}}{{- /* a nil value: JSON null */ -}}
    {{- if and $.probed (eq $type "Ready") -}}{{- $probed = $now -}}{{- end -}}
    {{- $condition := dict "type" $type "status" $status "lastProbeTime" $probed "lastTransitionTime" $since -}}
    {{- if index . 2 -}}{{- $_ := set $condition "reason" (index . 2) -}}{{- end -}}
    {{- if index . 3 -}}{{- $_ := set $condition "message" (index . 3) -}}{{- end -}}
    {{- $conditions = append $conditions $condition -}}
  {{- end -}}
  {{- $status := dict "phase" $phase "conditions" $conditions "containerStatuses" .cs -}}
  {{- if .ics -}}{{- $_ := set $status "initContainerStatuses" .ics -}}{{- end -}}
  {{- with .extra -}}{{- $status = merge $status . -}}{{- end -}}
  {{- toJson $status -}}
{{- end -}}

{{- define "kubesim.event" -}}
  {{- $pod := .pod -}}{{- $now := .now -}}
  {{- $node := $pod.spec.nodeName | default "" -}}
  {{- $involved := dict "apiVersion" "v1" "kind" "Pod" "name" $pod.metadata.name "namespace" $pod.metadata.namespace "uid" $pod.metadata.uid "resourceVersion" $pod.metadata.resourceVersion -}}
  {{- if .container -}}{{- $_ := set $involved "fieldPath" (printf "spec.%s{%s}" (ternary "initContainers" "containers" (.init | default false)) .container) -}}{{- end -}}
  {{- $key := printf "%s/%s/%s/%s/%s" $pod.metadata.uid .type .reason (.container | default "") .message -}}
  {{- $first := $now -}}{{- if $pod.status -}}{{- $first = $pod.status.startTime | default $now -}}{{- end -}}
  {{- toJson (dict
        "apiVersion" "v1" "kind" "Event"
        "metadata" (dict "name" (printf "%s.%s" $pod.metadata.name (sha256sum $key | trunc 16)) "namespace" $pod.metadata.namespace)
        "involvedObject" $involved
        "type" .type "reason" .reason "message" .message
        "source" (dict "component" "kubelet" "host" $node)
        "reportingComponent" "kubelet" "reportingInstance" $node
        "firstTimestamp" $first "lastTimestamp" $now
        "count" (.count | default 1)) -}}
{{- end -}}

{{- define "kubesim.find" -}}
  {{- /* .key: "waiting:<reason>" or "running"; .mains: main containers only.
         Sets .out.s (the status), .out.c (the container spec) and .out.init. */ -}}
  {{- $pod := .pod -}}{{- $key := .key -}}{{- $out := .out -}}
  {{- $groups := list (list false ($pod.status.containerStatuses | default list) $pod.spec.containers) -}}
  {{- if not .mains -}}{{- $groups = prepend $groups (list true ($pod.status.initContainerStatuses | default list) ($pod.spec.initContainers | default list)) -}}{{- end -}}
  {{- range $groups -}}
    {{- $init := index . 0 -}}{{- $specs := index . 2 -}}
    {{- range $i, $s := index . 1 -}}
      {{- $state := printf "waiting:%s" (dig "state" "waiting" "reason" "" $s) -}}
      {{- if dig "state" "running" "" $s -}}{{- $state = "running" -}}{{- end -}}
      {{- if and (not $out.s) (eq $state $key) -}}
        {{- $_ := set $out "s" $s -}}{{- $_ := set $out "c" (index $specs $i) -}}{{- $_ := set $out "init" $init -}}
      {{- end -}}
    {{- end -}}
  {{- end -}}
{{- end -}}

{{- define "kubesim.startEvent" -}}
  {{- /* .n: 1, 2 or 3; .start: the kubesim.start out dict; .c, .init; .pulled: the
         message of a successful pull (a first pull, or the image already present) */ -}}
  {{- $c := .c -}}
  {{- $args := dict "pod" .pod "now" .now "container" $c.name "init" .init "count" (.count | default 1) -}}
  {{- $image := quote ($c.image | default "") -}}
  {{- if .start.detail -}}
    {{- if eq .n 1 -}}{{- $_ := merge $args (dict "type" "Normal" "reason" "Pulling" "message" (printf "Pulling image %s" $image)) -}}
    {{- else if eq .n 2 -}}{{- $_ := merge $args (dict "type" "Warning" "reason" "Failed" "message" (printf "Failed to pull image %s: %s" $image .start.detail)) -}}
    {{- else -}}{{- $_ := merge $args (dict "type" "Warning" "reason" "Failed" "message" "Error: ErrImagePull") -}}
    {{- end -}}
  {{- else -}}
    {{- if eq .n 1 -}}{{- $_ := merge $args (dict "type" "Normal" "reason" "Pulled" "message" (printf .pulled $image)) -}}
    {{- else if eq .n 2 -}}{{- $_ := merge $args (dict "type" "Normal" "reason" "Created" "message" (printf "Created container: %s" $c.name)) -}}
    {{- else -}}{{- $_ := merge $args (dict "type" "Normal" "reason" "Started" "message" (printf "Started container %s" $c.name)) -}}
    {{- end -}}
  {{- end -}}
  {{- template "kubesim.event" $args -}}
{{- end -}}
