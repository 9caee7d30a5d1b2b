"""kubesim: an in-process Kubernetes API simulator for lain's end-to-end tests.

It speaks enough of the Kubernetes REST API (discovery, OpenAPI, CRUD, patch, watch,
pods/log, pods/exec) that the real helm 3/4 and kubectl binaries work against it, and runs
"instant" controllers (Deployment -> ReplicaSet -> Pod, StatefulSet, Job) whose pods can be
told, through knobs, to fail in every way lain must detect.  Test infrastructure only.
"""
