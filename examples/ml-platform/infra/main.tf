resource "aws_s3_bucket" "models" {
  bucket = var.model_bucket
  tags   = { purpose = "model-artifacts" }
}

resource "aws_sagemaker_model" "llama" {
  name               = "llama-3-8b"
  execution_role_arn = aws_iam_role.serving.arn

  primary_container {
    image          = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.3"
    model_data_url = "s3://${aws_s3_bucket.models.bucket}/models/llama-3-8b/model.tar.gz"
  }
}

resource "aws_sagemaker_endpoint_configuration" "llama" {
  name = "llama-3-8b"
  production_variants {
    variant_name           = "primary"
    model_name             = aws_sagemaker_model.llama.name
    instance_type          = "ml.g5.2xlarge"
    initial_instance_count = 1
  }
}

resource "aws_iam_role" "serving" {
  name               = "llama-serving"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "read_models" {
  statement {
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.models.arn}/*"]
  }
}

resource "aws_iam_role_policy" "read_models" {
  role   = aws_iam_role.serving.id
  policy = data.aws_iam_policy_document.read_models.json
}

resource "aws_security_group" "inference" {
  name = "inference"
  ingress {
    description = "SSH for debugging"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_eks_cluster" "gpu" {
  name     = "gpu"
  role_arn = "arn:aws:iam::123456789012:role/eks"
  vpc_config {
    subnet_ids = var.subnet_ids
  }
}

resource "aws_sagemaker_notebook_instance" "research" {
  name          = "research"
  role_arn      = aws_iam_role.serving.arn
  instance_type = "ml.g5.xlarge"
}
