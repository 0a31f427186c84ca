# Example handler for a custom runtime (see bootstrap): reads an SSM parameter and a JSON
# secret through the paramsecrets layer and prints the response.
#
# Two ways to read a value, picked at run time:
#   - the `paramsecrets get-parameter` / `get-secret` commands when they are on PATH: they
#     URL-encode, send the token, retry while the server starts and print the raw value;
#   - curl + jq otherwise (ship jq with the function: provided.al2023 has neither).
#
# Environment (set on the function):
#   CONFIG_PARAMETER  an SSM parameter name (default /app/db/host, in `paramsecrets dev`'s seed)
#   DB_SECRET_ID      a Secrets Manager secret holding {"username": ..., "password": ...}

PS_PORT="${PARAMETERS_SECRETS_EXTENSION_HTTP_PORT:-2773}"

# The token: the first set variable of the list; `file:///path` means the file's content.
ps_token() {
  for var in $(printf '%s' "${PARAMETERS_SECRETS_EXTENSION_TOKEN_ENV:-AWS_TOKEN,AWS_SESSION_TOKEN,AWS_CONTAINER_AUTHORIZATION_TOKEN}" | tr ',' ' '); do
    case "$var" in *[!A-Za-z0-9_]* | "") continue ;; esac
    eval "value=\${$var:-}"
    if [ -n "$value" ]; then
      case "$value" in
        file://*) tr -d '[:space:]' < "${value#file://}" ;;
        *) printf '%s' "$value" ;;
      esac
      return 0
    fi
  done
  echo "no token: set AWS_TOKEN or AWS_SESSION_TOKEN" >&2
  return 1
}

# ps_get ROUTE QUERY-NAME VALUE JQ-FILTER [JQ-ARGS...]: curl with the name URL-encoded (--data-urlencode),
# retrying while nothing listens yet (--retry-connrefused); an HTTP error's body (which never
# holds a value) goes to stderr. X-Paramsecrets-Profile: detailed asks for real statuses and
# JSON error bodies instead of the AWS extension's opaque 400 (the AWS extension ignores it).
ps_get() {
  token=$(ps_token) || return 1
  body=$(curl --silent --show-error --fail-with-body --get \
              --retry 3 --retry-connrefused --retry-max-time 3 \
              -H "X-Aws-Parameters-Secrets-Token: $token" \
              -H "X-Paramsecrets-Profile: detailed" \
              --data-urlencode "$2=$3" "http://127.0.0.1:$PS_PORT$1") || {
    echo "paramsecrets: $3: ${body:-no answer}" >&2
    return 1
  }
  filter=$4
  shift 4
  printf '%s' "$body" | jq -er "$@" "$filter"
}

get_parameter() {
  if command -v paramsecrets >/dev/null 2>&1; then
    paramsecrets get-parameter "$1" --decrypt
  else
    ps_get '/systemsmanager/parameters/get?withDecryption=true' name "$1" '.Parameter.Value'
  fi
}

get_secret_field() {
  if command -v paramsecrets >/dev/null 2>&1; then
    paramsecrets get-secret "$1" --json-field "$2"
  else
    ps_get /secretsmanager/get secretId "$1" '.SecretString | fromjson | .[$field]' --arg field "$2"
  fi
}

# JSON string escaping for the response (enough for one-line values).
json_string() {
  printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

# The runtime calls `handler EVENT` and posts what it prints as the response.
handler() {
  db_host=$(get_parameter "${CONFIG_PARAMETER:-/app/db/host}") || return 1
  db_user=$(get_secret_field "${DB_SECRET_ID:-app/db}" username) || return 1
  # Use the password the same way to connect; never print or log it.
  printf '{"db_host":%s,"db_user":%s}' "$(json_string "$db_host")" "$(json_string "$db_user")"
}
