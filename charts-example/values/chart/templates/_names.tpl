{{- define "lr.backend" -}}
{{- if .Values.general.deploy_secrets.enabled -}}
{{ .Release.Name }}-backend
{{- else -}}
{{ .Values.general.deploy_secrets.existing_secrets.backend | default (printf "%s-backend" .Release.Name) }}
{{- end -}}
{{- end -}}
{{- define "lr.keycloak" -}}
{{- if .Values.general.deploy_secrets.enabled -}}
{{ .Release.Name }}-keycloak
{{- else -}}
{{ .Values.general.deploy_secrets.existing_secrets.keycloak | default (printf "%s-keycloak" .Release.Name) }}
{{- end -}}
{{- end -}}
{{- define "lr.certificate" -}}
{{ .Values.certificate.existing_cert | default (printf "%s-certificate" .Release.Name) }}
{{- end -}}
