{{/*
Names and labels. Every per-service template ranges over .Values.services and calls these with
(dict "root" $ "name" $name "svc" $svc).
*/}}

{{- define "testbed.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name: the release name, with the chart name added unless it is in it. */}}
{{- define "testbed.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* <fullname>-<service>: the Deployment, Service, ConfigMap and PDB of one service. */}}
{{- define "testbed.serviceName" -}}
{{- printf "%s-%s" (include "testbed.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "testbed.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object; (dict "root" $ "component" "ipam"), component optional. */}}
{{- define "testbed.labels" -}}
helm.sh/chart: {{ include "testbed.chart" .root }}
{{ include "testbed.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: testbed
{{- end -}}

{{- define "testbed.selectorLabels" -}}
app.kubernetes.io/name: {{ include "testbed.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{- define "testbed.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "testbed.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
[registry/]repository:tag[@digest] from (dict "root" $ "image" { repository, tag, digest }): the
tag defaults to image.tag, then the chart's appVersion; skaffold sets all three.
*/}}
{{- define "testbed.image" -}}
{{- $root := .root -}}
{{- $repository := .image.repository -}}
{{- with $root.Values.image.registry }}{{ $repository = printf "%s/%s" (trimSuffix "/" .) $repository }}{{ end -}}
{{- $tag := (get .image "tag") | default $root.Values.image.tag | default $root.Chart.AppVersion -}}
{{- printf "%s:%s" $repository (toString $tag) -}}
{{- with (get .image "digest") }}@{{ . }}{{ end -}}
{{- end -}}

{{/* The Secret and key that hold DATABASE_URL for the service pods. */}}
{{- define "testbed.databaseSecretName" -}}
{{- if .Values.database.existingSecret -}}
{{- .Values.database.existingSecret -}}
{{- else -}}
{{- printf "%s-database" (include "testbed.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "testbed.databaseSecretKey" -}}
{{- if .Values.database.existingSecret -}}
{{- .Values.database.existingSecretKey -}}
{{- else -}}
DATABASE_URL
{{- end -}}
{{- end -}}

{{/* The shared configuration: non-empty entries of .Values.config, as ConfigMap data. */}}
{{- define "testbed.configData" -}}
{{- range $key, $value := .Values.config }}
{{- if not (kindIs "invalid" $value) }}
{{- if ne (toString $value) "" }}
{{ $key }}: {{ toString $value | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
One service's own variables: PORT, the folder of its mounted TLS Secrets (tlsSecrets.dirVariable)
and non-empty entries of services.<name>.env.
*/}}
{{- define "testbed.serviceConfigData" -}}
PORT: {{ get .svc "port" | default 8080 | toString | quote }}
{{- with (get .svc "tlsSecrets") }}
{{ .dirVariable }}: {{ .dir | quote }}
{{- end }}
{{- range $key, $value := (get .svc "env" | default (dict)) }}
{{- if not (kindIs "invalid" $value) }}
{{- if ne (toString $value) "" }}
{{ $key }}: {{ toString $value | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Where one of services.<name>.tlsSecrets.names is mounted: <dir>/<name>. */}}
{{- define "testbed.tlsSecretPath" -}}
{{- printf "%s/%s" (trimSuffix "/" .tls.dir) .secret -}}
{{- end -}}

{{/*
Checks that span several values (values.schema.json checks each value alone): the shutdown delay
must fit in the grace period, or the kubelet kills pods in the middle of their shutdown; and the
folder of the TLS Secrets is the chart's to set, or the process would look elsewhere than the mounts.
*/}}
{{- define "testbed.validate" -}}
{{- $delay := int (default 0 .Values.config.SHUTDOWN_DELAY_MS) -}}
{{- range $name, $svc := .Values.services }}
{{- if $svc.enabled }}
{{- $grace := int (get $svc "terminationGracePeriodSeconds" | default $.Values.terminationGracePeriodSeconds) -}}
{{- if ge $delay (mul $grace 1000) }}
{{- fail (printf "services.%s: SHUTDOWN_DELAY_MS (%d ms) must be below terminationGracePeriodSeconds (%d s)" $name $delay $grace) }}
{{- end }}
{{- with (get $svc "tlsSecrets") }}
{{- if hasKey (get $svc "env" | default (dict)) .dirVariable }}
{{- fail (printf "services.%s: env.%s is set by the chart from tlsSecrets.dir; set that instead" $name .dirVariable) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}
