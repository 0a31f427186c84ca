// .NET: configuration from Environment.GetEnvironmentVariable, filled by the exec wrapper before
// the runtime started.
using Amazon.Lambda.Core;

namespace Example;

public class Function
{
    private static readonly string DbHost = Environment.GetEnvironmentVariable("DB_HOST")!; // read once, at INIT
    private static readonly string DbPassword = Environment.GetEnvironmentVariable("DB_PASSWORD")!;

    public object Handler(object input, ILambdaContext context) =>
        new { dbHost = DbHost, passwordLength = DbPassword.Length }; // never return the value
}
