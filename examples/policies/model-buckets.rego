# Native aiiac-ls policy: `input` is one resource document (schema aiiac.resource/v1).
package aiiac.org.buckets

import rego.v1

metadata := {
	"ORG001": {
		"title": "Model buckets carry a cost-centre tag",
		"severity": "low",
		"description": "Buckets tagged purpose=models must name the cost centre that pays for them.",
		"remediation": "Add tags = { cost-centre = \"...\" }.",
	},
	"ORG002": {
		"title": "Bucket names start with the organisation prefix",
		"severity": "medium",
	},
}

deny contains finding if {
	input.kind == "aws_s3_bucket"
	input.config.tags.purpose == "models"
	not input.config.tags["cost-centre"]
	finding := {
		"id": "ORG001",
		"message": sprintf("model bucket %s has no cost-centre tag", [input.name]),
		"path": ["tags"],
	}
}

deny contains finding if {
	input.kind == "aws_s3_bucket"
	name := input.config.bucket
	is_string(name)
	not startswith(name, "acme-")
	finding := {
		"id": "ORG002",
		"message": sprintf("bucket name \"%s\" does not start with acme-", [name]),
		"path": "bucket",
	}
}
