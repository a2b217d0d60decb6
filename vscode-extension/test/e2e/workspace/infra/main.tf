resource "aws_s3_bucket" "models" {
  bucket = "acme-models"
}
