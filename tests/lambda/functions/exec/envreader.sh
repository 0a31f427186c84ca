# A busybox sh handler that reads its configuration from the environment and a file; the values
# were filled by `paramsecrets exec` in the bootstrap. `left` holds whatever mapping variables
# reached the runtime (none should).
snapshot() {
  left="${PARAMSECRETS_ENV_DB_HOST:-}${PARAMSECRETS_FILES:-}${_PARAMSECRETS_LAUNCHER:-}"
  printf '{"env":{"DB_HOST":"%s","DB_PASSWORD":"%s","DB_USER":"%s"},"file":%s,"left":"%s"}' \
    "$DB_HOST" "$DB_PASSWORD" "$DB_USER" "$(cat /tmp/db.json)" "$left"
}

on_init() {
  AT_INIT=$(snapshot) || return 1
}

handler() {
  printf '{"init":%s,"invoke":%s}' "$AT_INIT" "$(snapshot)"
}
