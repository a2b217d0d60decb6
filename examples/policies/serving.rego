package aiiac.org.serving

import rego.v1

workloads := {"Deployment", "StatefulSet", "DaemonSet"}

deny contains finding if {
	input.source == "kubernetes"
	workloads[input.kind]
	some i, container in input.config.spec.template.spec.containers
	not startswith(container.image, "registry.acme.internal/")
	finding := {
		"id": "ORG003",
		"title": "Model servers run images from the internal registry",
		"severity": "high",
		"message": sprintf("container %s runs %s, not an image from registry.acme.internal", [container.name, container.image]),
		"path": ["spec", "template", "spec", "containers", i, "image"],
	}
}
