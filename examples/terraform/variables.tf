variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"
}

variable "layer_zip" {
  description = "The zip made by `paramsecrets layer build --arch <architecture> -o <zip>`."
  type        = string
  default     = "../../paramsecrets-layer-x86_64.zip"
}

variable "architecture" {
  description = "x86_64 or arm64: the architecture the layer zip was built for."
  type        = string
  default     = "x86_64"
  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "parameter_name" {
  description = "The SSM parameter the function reads (as in `paramsecrets dev`'s seed by default)."
  type        = string
  default     = "/app/db/host"
}

variable "secret_name" {
  description = "The Secrets Manager secret the function reads."
  type        = string
  default     = "app/db"
}
