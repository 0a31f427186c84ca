# Ruby: configuration from ENV, filled by the exec wrapper before the runtime started.
DB_HOST = ENV.fetch("DB_HOST") # read once, at INIT, like any plain setting
DB_PASSWORD = ENV.fetch("DB_PASSWORD")

def handler(event:, context:)
  { db_host: DB_HOST, password_length: DB_PASSWORD.length } # never return the value
end
