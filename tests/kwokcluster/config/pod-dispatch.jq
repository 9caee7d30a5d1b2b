# jq definitions prepended to every jq expression of the pod Stages (pod-stages.yaml).
#
# `stage` names the one transition due for a pod, so that exactly one Stage matches at
# a time (kwok picks at random among matching Stages).  The order of the tests below is
# the priority.  Knobs are read like tests/kubesim/knobs.py reads them.

def knob($k): ((.metadata.annotations // {})["kubesim.lain.dev/" + $k]) // "";
def crashes: knob("crash") as $c
  | if $c == "always" or $c == "true" then 1e9 elif $c == "" then 0 else ($c | tonumber) end;
def never_ready: knob("ready") | (. == "never" or . == "false");
def restart_always: (.spec.restartPolicy // "Always") == "Always";
def mains: .status.containerStatuses // [];
def inits: .status.initContainerStatuses // [];
def waiting($reason): [mains[], inits[] | .state.waiting.reason // ""] | any(. == $reason);
def sidecars: [.spec.initContainers // [] | .[] | select(.restartPolicy == "Always") | .name];
def running_mains: [mains[] | select(.state.running != null)];
# Seconds as a Go duration (whole milliseconds: Go cannot parse jq's 1e-05).
def ms: "\(. * 1000 | floor)ms";
def stage:
  . as $pod
  | crashes as $crashes
  | if .metadata.deletionTimestamp != null then "delete"
    elif .status.phase == "Succeeded" or .status.phase == "Failed" then "done"
    elif (mains | length) == 0 then
      (if (.metadata.annotations // {})["kwokcluster.lain.dev/logs-ready"] == "true" then "start" else "gated" end)
    elif waiting("ErrImagePull") then "pull-backoff"
    elif waiting("ImagePullBackOff") then "pull-retry"
    elif [inits[] | select(.state.running != null) | .name as $n | $pod | sidecars | any(. == $n) | not] | any
      then "init-complete"
    elif restart_always and ([running_mains[] | select((.restartCount // 0) < $crashes)] | length > 0)
      then "crash"
    elif (restart_always | not) and (running_mains | length > 0) then "exit"
    elif waiting("CrashLoopBackOff") then "restart"
    elif never_ready and (running_mains | length > 0) then "probe-fail"
    elif [running_mains[] | select(.ready | not)] | length > 0 then "ready"
    else "steady" end;
