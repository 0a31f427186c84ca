# Reads through the extension the way AWS's documentation shows (here with busybox wget):
# GET localhost:$PORT/... with X-Aws-Parameters-Secrets-Token, names URL-encoded by the caller.
# STRING_NAME, SECURE_NAME and SECRET_ID are set on the function, already URL-encoded.
PORT="${PARAMETERS_SECRETS_EXTENSION_HTTP_PORT:-2773}"

ps_get() {
  wget -q -O - --header "X-Aws-Parameters-Secrets-Token: $AWS_SESSION_TOKEN" "http://127.0.0.1:$PORT$1"
}

read_all() {
  string=$(ps_get "/systemsmanager/parameters/get?name=$STRING_NAME") || return 1
  secure=$(ps_get "/systemsmanager/parameters/get?name=$SECURE_NAME&withDecryption=true") || return 1
  secret=$(ps_get "/secretsmanager/get?secretId=$SECRET_ID") || return 1
  printf '{"string":%s,"secure":%s,"secret":%s}' "$string" "$secure" "$secret"
}

# INIT phase: before the first invoke, while Lambda is still initialising; no retry loop.
on_init() {
  INIT_ANSWERS=$(read_all) || return 1
}

handler() {
  printf '{"init":%s,"invoke":%s}' "$INIT_ANSWERS" "$(read_all)"
}
