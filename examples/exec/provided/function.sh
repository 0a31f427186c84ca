# A shell handler: DB_HOST and DB_PASSWORD were filled by `paramsecrets exec` in the bootstrap.
handler() {
  printf '{"db_host":"%s","password_length":%s}' "$DB_HOST" "${#DB_PASSWORD}" # never print the value
}
