{{/* lain4: every object carries these; pods add app.kubernetes.io/instance: <release>-<proc>. */}}
{{- define "lain4.labels" -}}
helm.sh/chart: {{ .Release.Name }}
app.kubernetes.io/name: {{ .Values.appname }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
