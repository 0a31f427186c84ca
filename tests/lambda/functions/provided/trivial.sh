# The smallest handler, for cold-start measurements: reads nothing, answers {"ok":true}.
handler() {
  printf '{"ok":true}'
}
