package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import java.util.Map;

/** Java: configuration from System.getenv, filled by the exec wrapper before the JVM started. */
public class Handler implements RequestHandler<Map<String, Object>, Map<String, Object>> {
    private static final String DB_HOST = System.getenv("DB_HOST"); // read once, at INIT
    private static final String DB_PASSWORD = System.getenv("DB_PASSWORD");

    @Override
    public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
        return Map.of("dbHost", DB_HOST, "passwordLength", DB_PASSWORD.length()); // never return the value
    }
}
