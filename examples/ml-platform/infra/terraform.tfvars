model_bucket = "acme-models"
