resource "aws_s3_bucket" "logs" {
  bucket = "acme-inference-logs"
}

resource "aws_s3_bucket_acl" "logs" {
  bucket = aws_s3_bucket.logs.id
  acl    = "public-read"
}
