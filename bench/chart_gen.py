"""A generated chart of N templates (Deployments, Services, ConfigMaps using helpers, toYaml,
range and include), for rendering and editor benchmarks."""

from __future__ import annotations

from pathlib import Path

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{{{ include "bench.fullname" . }}}}-{n}
  labels:
    {{{{- include "bench.labels" . | nindent 4 }}}}
spec:
  replicas: {{{{ .Values.replicaCount }}}}
  template:
    metadata:
      labels:
        {{{{- include "bench.labels" . | nindent 8 }}}}
    spec:
      containers:
        - name: server-{n}
          image: "{{{{ .Values.image.repository }}}}:{{{{ .Values.image.tag | default .Chart.AppVersion }}}}"
          {{{{- with .Values.securityContext }}}}
          securityContext:
            {{{{- toYaml . | nindent 12 }}}}
          {{{{- end }}}}
          env:
            {{{{- range $key, $value := .Values.env }}}}
            - name: {{{{ $key }}}}
              value: {{{{ $value | quote }}}}
            {{{{- end }}}}
          resources:
            {{{{- toYaml .Values.resources | nindent 12 }}}}
---
apiVersion: v1
kind: Service
metadata:
  name: {{{{ include "bench.fullname" . }}}}-{n}
spec:
  type: {{{{ .Values.service.type }}}}
  ports:
    - port: {{{{ .Values.service.port }}}}
"""

HELPERS = """{{- define "bench.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "bench.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
"""

VALUES = """replicaCount: 2
image:
  repository: vllm/vllm-openai
  tag: v0.6.3
service:
  type: ClusterIP
  port: 8000
securityContext:
  allowPrivilegeEscalation: false
env:
  MODEL: meta-llama/Llama-3-8B
  MAX_TOKENS: "4096"
resources:
  limits:
    nvidia.com/gpu: 1
"""


def write_chart(root: Path, templates: int = 40) -> Path:
    (root / "templates").mkdir(parents=True, exist_ok=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: bench\nversion: 0.1.0\nappVersion: 1.0.0\n")
    (root / "values.yaml").write_text(VALUES)
    (root / "templates" / "_helpers.tpl").write_text(HELPERS)
    for n in range(templates):
        (root / "templates" / f"server{n:02d}.yaml").write_text(DEPLOYMENT.format(n=n))
    return root
