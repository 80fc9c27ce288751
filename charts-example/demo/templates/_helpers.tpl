{{- define "demo.fullname" -}}{{ .Release.Name }}-demo{{- end -}}
{{- define "demo.labels" -}}
app.kubernetes.io/name: demo
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
