{{- define "keelportal.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "keelportal.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "keelportal.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "keelportal.secretName" -}}{{ (.Values.secret).name | default (printf "%s-settings" (include "keelportal.fullname" .)) }}{{- end -}}

{{/* The rules the portal itself needs; read by the RBAC templates for the ClusterRole or each Role. */}}
{{- define "keelportal.rules" -}}
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets]
  verbs: [get, list, watch, patch]
- apiGroups: [batch]
  resources: [cronjobs]
  verbs: [get, list, watch, patch]
- apiGroups: [""]
  resources: [pods]
  verbs: [list, watch]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
- apiGroups: [""]
  resources: [events]
  verbs: [list]
{{- if .Values.diagnostics.podLogs }}
- apiGroups: [""]
  resources: [pods/log]
  verbs: [get]
{{- end }}
{{- if .Values.helmProvider.enabled }}
- apiGroups: [""]
  resources: [secrets, configmaps]
  verbs: [get, list, watch, create, update, patch, delete]
{{- with .Values.helmProvider.upgradeRules }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Keel's chart values the portal does not take: the render stops naming the value and what to use instead. Keel's values
file as Keel ships it passes (every one of these is off there).
*/}}
{{- define "keelportal.keelChecks" -}}
{{- if regexMatch "keel-hq/keel$|keelhq/keel$" (.Values.image.repository | default "") }}
{{- fail "image.repository names Keel's image: set it to the KeelPortal image you built and pushed (docs/install.md)" }}
{{- end }}
{{- with .Values.auth }}{{ if not (has (.mode | default "legacy") (list "legacy")) }}
{{- fail "auth.mode: only Keel's legacy mode (the portal's own accounts) is taken; for an identity provider use oidc.*" }}
{{- end }}{{ end }}
{{- if (.Values.oauth2Proxy).enabled }}
{{- fail "oauth2Proxy.enabled: KeelPortal signs people in itself; use oidc.* for single sign-on" }}
{{- end }}
{{- if (.Values.webhookRelay).enabled }}
{{- fail "webhookRelay.enabled: the relay sidecar is not part of this chart; run it separately and point it at /v1/webhooks/*" }}
{{- end }}
{{- if ((.Values.gcloud).managedCertificates).enabled }}
{{- fail "gcloud.managedCertificates.enabled: create the ManagedCertificate yourself and name it in ingress.annotations" }}
{{- end }}
{{- if .Values.createNamespaceResource }}
{{- fail "createNamespaceResource: create the namespace with helm install --create-namespace" }}
{{- end }}
{{- if .Values.googleApplicationCredentials }}
{{- fail "googleApplicationCredentials: mount the key file from a Secret of your own and set GOOGLE_APPLICATION_CREDENTIALS in env (or use GKE workload identity: gcr.gcpServiceAccount)" }}
{{- end }}
{{- with .Values.rbac }}
{{- if or (eq (toString .enabled) "false") (eq (toString (.serviceAccount).create) "false") (eq (toString (.clusterRole).create) "false") ((.role).create) }}
{{- fail "rbac: the chart always creates the service account and exactly the rights the portal uses (a ClusterRole, or a Role per entry of namespaces)" }}
{{- end }}
{{- end }}
{{- if (.Values.ingress).hosts }}
{{- fail "ingress.hosts: this chart serves one host; set ingress.host" }}
{{- end }}
{{- if and .Values.ingress.enabled (eq (toString (.Values.service).enabled) "false") }}
{{- fail "ingress.enabled needs the Service: leave service.enabled on" }}
{{- end }}
{{- end -}}
