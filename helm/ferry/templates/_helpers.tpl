{{/*
Names and labels shared by every template. Object names are fixed by `namePrefix` and not by
the release name, because sidecars and `ferry inject` find the control plane by its Service
name (<prefix>-control-plane.<namespace>.svc).
*/}}

{{- define "ferry.prefix" -}}
{{- .Values.namePrefix | default "ferry" | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "ferry.controlPlane" -}}
{{- include "ferry.prefix" . }}-control-plane
{{- end -}}

{{- define "ferry.webhookConfig" -}}
{{- include "ferry.prefix" . }}-sidecar-injector
{{- end -}}

{{- define "ferry.caSecret" -}}
{{- include "ferry.prefix" . }}-ca-root
{{- end -}}

{{- define "ferry.meshConfig" -}}
{{- include "ferry.prefix" . }}-mesh
{{- end -}}

{{- /* The gateway's Deployment, Service and ServiceAccount (its SPIFFE service account). */ -}}
{{- define "ferry.gateway" -}}
{{- include "ferry.prefix" . }}-gateway
{{- end -}}

{{- /* The Gateway it implements, `<namespace>/<name>`: gateway.gatewayRef, or its own name. */ -}}
{{- define "ferry.gatewayRef" -}}
{{- .Values.gateway.gatewayRef | default (printf "%s/%s" .Release.Namespace (include "ferry.gateway" .)) -}}
{{- end -}}

{{- define "ferry.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* Labels on every object (Kubernetes' recommended labels). */}}
{{- define "ferry.labels" -}}
app.kubernetes.io/name: ferry
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service | quote }}
app.kubernetes.io/part-of: ferry
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | quote }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The control plane's pods: the Deployment's selector, the Service's and the PDB's. */}}
{{- define "ferry.selectorLabels" -}}
app.kubernetes.io/name: ferry
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/component: control-plane
{{- end -}}

{{/* The webhook's clientConfig: the control plane's Service, port 15017, path /inject. */}}
{{- define "ferry.webhookClientConfig" -}}
service:
  name: {{ include "ferry.controlPlane" . }}
  namespace: {{ .Release.Namespace }}
  path: /inject
  port: 15017
{{- end -}}
