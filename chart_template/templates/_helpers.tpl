{{/*
Helpers shared by every template.  The chart computes no image, tag or
cluster fact itself: they come from .Values.lain (docs/architecture.rst,
"The values handed to the chart").
*/}}

{{/* The prefix of every object name: releaseName, else appname. */}}
{{- define "lain.name" -}}
{{- $l := .Values.lain | default dict -}}
{{- $l.releaseName | default .Values.releaseName | default $l.appname | default .Values.appname | required "appname is required" -}}
{{- end -}}

{{/* The app's name (the env and secret-files Secrets belong to the app, not the release). */}}
{{- define "lain.appname" -}}
{{- $l := .Values.lain | default dict -}}
{{- $l.appname | default .Values.appname | required "appname is required" -}}
{{- end -}}

{{/*
Labels.  Argument: dict root, component (optional), kind (optional).
Selector labels are a fixed subset: user labels never enter a selector
(selectors are immutable).
*/}}
{{- define "lain.selectorLabels" -}}
{{- $adopted := get ((include "lain.adopt" .root | fromYaml).selectors | default dict) (toString (.component | default "")) -}}
{{- if $adopted -}}
{{- toYaml $adopted -}}
{{- else -}}
{{- $labels := dict "app.kubernetes.io/name" (include "lain.appname" .root) "app.kubernetes.io/instance" (include "lain.name" .root) -}}
{{- with .component }}{{ $_ := set $labels "app.kubernetes.io/component" . }}{{ end -}}
{{- toYaml $labels -}}
{{- end -}}
{{- end -}}

{{/*
What lain keeps of a release it took over from lain4 (.Values.lain.adopt, read from
the cluster by lain before rendering; docs: "Coming from lain4"): per proc the
selector of its live Deployment or StatefulSet (selectors are immutable), its
Service's port, a StatefulSet's serviceName, and the live names of objects lain4
named differently ("Kind/lain's name" -> live name).  Empty for every other release.
*/}}
{{- define "lain.adopt" -}}
{{- toYaml ((.Values.lain | default dict).adopt | default dict) -}}
{{- end -}}

{{/* The name of an object: lain's own, or the live one of a lain4 release.  Argument: dict root, kind, name. */}}
{{- define "lain.objectName" -}}
{{- $names := (include "lain.adopt" .root | fromYaml).names | default dict -}}
{{- get $names (printf "%s/%s" .kind .name) | default .name -}}
{{- end -}}

{{- define "lain.labels" -}}
{{- $labels := dict -}}
{{- range $k, $v := (.root.Values.labels | default dict) }}
{{- $_ := set $labels $k (toString $v) -}}
{{- end }}
{{- range $k, $v := ((.w | default dict).labels | default dict) }}
{{- $_ := set $labels $k (toString $v) -}}
{{- end }}
{{- $_ := set $labels "app.kubernetes.io/name" (include "lain.appname" .root) -}}
{{- $_ := set $labels "app.kubernetes.io/instance" (include "lain.name" .root) -}}
{{- $_ := set $labels "app.kubernetes.io/managed-by" .root.Release.Service -}}
{{- with .component }}{{ $_ := set $labels "app.kubernetes.io/component" . }}{{ end -}}
{{- with .kind }}{{ $_ := set $labels "lain.dev/kind" . }}{{ end -}}
{{- toYaml $labels -}}
{{- end -}}

{{/* Who deployed what: on every workload, never on pod templates (that would restart pods). */}}
{{- define "lain.deployAnnotations" -}}
{{- $l := .Values.lain | default dict -}}
lain.dev/git-revision: {{ $l.gitRevision | default "" | quote }}
lain.dev/deployed-by: {{ $l.user | default "" | quote }}
lain.dev/values-checksum: {{ $l.valuesChecksum | default "" | quote }}
{{- end -}}

{{/*
The keys of .src listed in .keys that are present and not null, as YAML
(empty output when none).  Used to pass user fields through untouched.
*/}}
{{- define "lain.fields" -}}
{{- $out := dict -}}
{{- range .keys -}}
{{- if and (hasKey $.src .) (not (kindIs "invalid" (get $.src .))) -}}
{{- $_ := set $out . (get $.src .) -}}
{{- end -}}
{{- end -}}
{{- if $out }}{{ toYaml $out }}{{ end -}}
{{- end -}}

{{/* The final image of a workload: .Values.lain.images.<kind>.<name>. */}}
{{- define "lain.image" -}}
{{- $images := (.root.Values.lain | default dict).images | default dict -}}
{{- $byKind := get $images .kind | default dict -}}
{{- get $byKind .name | required (printf "no image for %s.%s in .Values.lain.images (lain computes it; render with `lain template`)" .kind .name) -}}
{{- end -}}

{{/* A scalar as an env value string; integral numbers without an exponent. */}}
{{- define "lain.envValue" -}}
{{- if kindIs "invalid" . -}}
{{- "" -}}
{{- else if and (kindIs "float64" .) (eq . (float64 (int64 .))) -}}
{{- int64 . | toString -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/*
The env list of a container: LAIN_CLUSTER, K8S_NAMESPACE, IMAGE_TAG, then
the app-level env, then the workload's own env; each env is a mapping (as in
lain4) or a Kubernetes env list [{name, value | valueFrom}].  A name set later
replaces the earlier entry, so every name appears once (server-side apply
rejects duplicates).  Values become strings.  Argument: dict root, w, image.

Written in two passes over the sources (first: the last place of each name;
second: the entries at their last place), never by appending to a list in a
loop: sprig's append copies the list, which made an env of 100,000 entries
take minutes.
*/}}
{{- define "lain.env" -}}
{{- $root := .root -}}
{{- $l := $root.Values.lain | default dict -}}
{{- $cluster := $l.cluster | default dict -}}
{{- $tag := regexFind ":[^:/@]+$" .image | trimPrefix ":" | default ($l.imageTag | default "") -}}
{{- $builtin := list (dict "name" "LAIN_CLUSTER" "value" ($cluster.name | default "")) (dict "name" "K8S_NAMESPACE" "value" ($cluster.namespace | default $root.Release.Namespace)) (dict "name" "IMAGE_TAG" "value" $tag) -}}
{{- $sources := list $builtin ($root.Values.env | default list) (.w.env | default list) -}}
{{- $last := dict -}}
{{- range $s, $src := $sources }}
{{- if kindIs "map" $src }}
{{- range $k, $_ := $src }}{{ $_ := set $last (toString $k) (toString $s) }}{{ end }}
{{- else if kindIs "slice" $src }}
{{- range $i, $e := $src }}{{ $_ := set $last (toString $e.name) (printf "%d:%d" $s $i) }}{{ end }}
{{- end }}
{{- end }}
{{- range $s, $src := $sources }}
{{- if kindIs "map" $src }}
{{- range $k, $v := $src }}
{{- if eq (get $last (toString $k)) (toString $s) }}
- name: {{ $k | quote }}
  value: {{ include "lain.envValue" $v | quote }}
{{- end }}
{{- end }}
{{- else if kindIs "slice" $src }}
{{- range $i, $e := $src }}
{{- if eq (get $last (toString $e.name)) (printf "%d:%d" $s $i) }}
{{- if hasKey $e "value" }}{{ $e = set (deepCopy $e) "value" (include "lain.envValue" $e.value) }}{{ end }}
{{- if and (hasKey $e "value") (eq (len $e) 2) }}
- name: {{ $e.name | quote }}
  value: {{ $e.value | quote }}
{{- else }}
- {{ toYaml $e | indent 2 | trimPrefix "  " }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
volumeMounts: the app's secret files at secretMountPath, then app-level
mounts, then the workload's.  A mount without a name reads from the secret
volume, its subPath being the file name.  Argument: dict root, w.
*/}}
{{- define "lain.volumeMounts" -}}
{{- toYaml (list (dict "name" "secret" "mountPath" (.root.Values.secretMountPath | default "/lain/secrets") "readOnly" true)) }}
{{- range concat (.root.Values.volumeMounts | default list) (.w.volumeMounts | default list) }}
{{- $m := . -}}
{{- if not $m.name }}{{ $m = set (deepCopy $m) "name" "secret" }}{{ end }}
{{ toYaml (list $m) }}
{{- end -}}
{{- end -}}

{{/*
One container.  Argument: dict root, w (its fields), name, image, port
(0 for none).
*/}}
{{- define "lain.container" -}}
{{- $root := .root -}}
{{- $w := .w -}}
- name: {{ .name | quote }}
  image: {{ .image | quote }}
  imagePullPolicy: {{ $w.imagePullPolicy | default $root.Values.imagePullPolicy | default "Always" }}
  {{- with include "lain.fields" (dict "src" $w "keys" (list "command" "args" "workingDir" "resources" "readinessProbe" "livenessProbe" "startupProbe" "lifecycle" "securityContext")) }}
  {{- . | nindent 2 }}
  {{- end }}
  {{- if .port }}
  ports:
    - containerPort: {{ .port }}
      protocol: {{ $w.protocol | default "TCP" }}
  {{- end }}
  env:
    {{- include "lain.env" (dict "root" $root "w" $w "image" (.tagImage | default .image)) | trim | nindent 4 }}
  envFrom:
    - secretRef:
        name: {{ printf "%s-env" (include "lain.appname" $root) }}
        optional: true
    {{- with $root.Values.extraEnvFrom }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  volumeMounts:
    {{- include "lain.volumeMounts" (dict "root" $root "w" $w) | nindent 4 }}
{{- end -}}

{{/* An init container's image: .Values.lain.initImages.<kind>.<workload>.<name>, computed by lain. */}}
{{- define "lain.initImage" -}}
{{- $byKind := get ((.root.Values.lain | default dict).initImages | default dict) .kind | default dict -}}
{{- $byWorkload := get $byKind .workload | default dict -}}
{{- get $byWorkload .name | required (printf "no image for init container %s of %s.%s in .Values.lain.initImages (lain computes it; render with `lain template`)" .name .kind .workload) -}}
{{- end -}}

{{/* The port a proc listens on: containerPort, else nodePort (as lain4). */}}
{{- define "lain.port" -}}
{{- .containerPort | default .nodePort | default 0 -}}
{{- end -}}

{{/*
The pod spec of every workload.  Argument: dict root, w, name (container
name), kind (key under .Values.lain.images), restartPolicy (optional).
*/}}
{{- define "lain.podSpec" -}}
{{- $root := .root -}}
{{- $w := .w -}}
{{- $v := $root.Values -}}
{{- $image := include "lain.image" (dict "root" $root "kind" .kind "name" .name) -}}
{{- with .restartPolicy }}
restartPolicy: {{ . }}
{{- end }}
{{- with $w.serviceAccountName | default $v.serviceAccountName }}
serviceAccountName: {{ . | quote }}
{{- end }}
{{- if hasKey $w "terminationGracePeriodSeconds" }}
terminationGracePeriodSeconds: {{ $w.terminationGracePeriodSeconds }}
{{- else }}
terminationGracePeriodSeconds: 100
{{- end }}
{{- if hasKey $w "hostNetwork" }}
hostNetwork: {{ $w.hostNetwork }}
{{- end }}
{{- with $w.podSecurityContext | default $v.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- $clusterAliases := ((($v.lain | default dict).cluster | default dict).hostAliases | default list) -}}
{{- with concat $clusterAliases ($v.hostAliases | default list) ($w.hostAliases | default list) }}
hostAliases:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $w.nodeSelector | default $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $w.tolerations | default $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- $affinity := deepCopy ($w.affinity | default $v.affinity | default dict) -}}
{{- with $w.nodes }}
{{- $term := dict "matchExpressions" (list (dict "key" "kubernetes.io/hostname" "operator" "In" "values" .)) -}}
{{- $nodeAffinity := get $affinity "nodeAffinity" | default dict -}}
{{- $required := get $nodeAffinity "requiredDuringSchedulingIgnoredDuringExecution" | default dict -}}
{{- $_ := set $required "nodeSelectorTerms" (append (get $required "nodeSelectorTerms" | default list) $term) -}}
{{- $_ := set $nodeAffinity "requiredDuringSchedulingIgnoredDuringExecution" $required -}}
{{- $_ := set $affinity "nodeAffinity" $nodeAffinity -}}
{{- end }}
{{- with $affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $w.initContainers }}
initContainers:
{{- range $i, $c := . }}
  {{- include "lain.container" (dict "root" $root "w" $c "name" $c.name "image" (include "lain.initImage" (dict "root" $root "kind" $.kind "workload" $.name "name" $c.name)) "tagImage" $image "port" 0) | nindent 2 }}
{{- end }}
{{- end }}
containers:
  {{- include "lain.container" (dict "root" $root "w" $w "name" .name "image" $image "port" (include "lain.port" $w | int)) | nindent 2 }}
volumes:
  - name: secret
    secret:
      secretName: {{ printf "%s-secret" (include "lain.appname" $root) }}
      optional: true
  {{- range $pvc, $_ := $v.persistentVolumeClaims }}
  - name: {{ $pvc }}
    persistentVolumeClaim:
      claimName: {{ printf "%s-%s" (include "lain.name" $root) $pvc }}
  {{- end }}
  {{- with concat ($v.volumes | default list) ($w.volumes | default list) }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/*
Pod template metadata.  Argument: dict root, w, component, kind.
*/}}
{{- define "lain.podMetadata" -}}
{{- $labels := include "lain.labels" . | fromYaml -}}
{{- $adopted := get ((include "lain.adopt" .root | fromYaml).selectors | default dict) (toString (.component | default "")) -}}
{{- range $k, $v := ($adopted | default dict) }}{{ $_ := set $labels $k $v }}{{ end -}}
labels:
  {{- toYaml $labels | nindent 2 }}
{{- with merge dict (.w.podAnnotations | default dict) (.root.Values.podAnnotations | default dict) }}
annotations:
  {{- include "lain.annotations" (dict "base" .) | nindent 2 }}
{{- end }}
{{- end -}}

{{/* A workload's own metadata: name, labels, user annotations over lain's. */}}
{{- define "lain.workloadMetadata" -}}
name: {{ .fullname }}
labels:
  {{- include "lain.labels" . | nindent 2 }}
annotations:
  {{- include "lain.annotations" (dict "base" (include "lain.deployAnnotations" .root | fromYaml) "extra" .annotations) | nindent 2 }}
{{- end -}}

{{/* .base with .extra's entries over it, values as strings. */}}
{{- define "lain.annotations" -}}
{{- $out := dict -}}
{{- range $k, $v := .base }}{{ $_ := set $out $k (toString $v) }}{{ end -}}
{{- range $k, $v := (.extra | default dict) }}{{ $_ := set $out $k (toString $v) }}{{ end -}}
{{- toYaml $out -}}
{{- end -}}
