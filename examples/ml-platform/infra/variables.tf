variable "model_bucket" {
  type = string
}

variable "subnet_ids" {
  type    = list(string)
  default = []
}
