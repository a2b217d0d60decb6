# conftest's Terraform input shape: input.resource.<type>.<name>.
package terraform.sagemaker

import rego.v1

warn contains msg if {
  some name
  config := input.resource.aws_sagemaker_endpoint_configuration[name]
  not config.kms_key_arn
  msg := sprintf("endpoint configuration %s does not encrypt with a customer KMS key", [name])
}
