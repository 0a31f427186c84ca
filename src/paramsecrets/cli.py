"""The `paramsecrets` command: dispatches to each subcommand, importing only what it needs."""

from __future__ import annotations

import sys

USAGE = """usage: paramsecrets <command> [options]

commands:
  serve          run the cache server (a Lambda extension when AWS_LAMBDA_RUNTIME_API is set)
  dev            run the server against an embedded AWS backend seeded from a file
  get-parameter  print a parameter's value (client)
  get-secret     print a secret's value (client)
  layer build    build the Lambda layer zip
  config check   validate the configuration and print the effective values
  version        print the version

Run `paramsecrets <command> --help` for a command's options."""


def config_check(argv: list[str]) -> int:
    """Validate env + file + flags exactly as `serve` would; print the result, never a token."""
    import argparse

    from paramsecrets import config, tokens
    from paramsecrets.aws.settings import resolve_aws

    parser = argparse.ArgumentParser(prog="paramsecrets config check")
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file")
    parser.add_argument("--port", help="override the HTTP port")
    parser.add_argument("--log-level", help="override the log level")
    args = parser.parse_args(argv)
    try:
        settings = config.load(flags={"http_port": args.port, "log_level": args.log_level},
                               config_file=args.config)
        token = tokens.resolve(settings.token_env)
        aws = resolve_aws(own_port=settings.http_port)  # the endpoints `serve` would call
    except (config.ConfigError, tokens.TokenError) as error:
        print(f"paramsecrets: configuration error: {error}", file=sys.stderr)
        return 2
    width = max(len(env) for env, *_ in settings.effective())
    for env, _key, value, source in settings.effective():
        print(f"{env:<{width}}  {value}  ({source})")
    print(f"{'token':<{width}}  from {token.source} (value hidden)")
    print(f"{'AWS region':<{width}}  {aws.region}")
    print(f"{'SSM endpoint':<{width}}  {aws.ssm.url}")
    print(f"{'Secrets Manager endpoint':<{width}}  {aws.secrets.url}")
    print(f"{'cache':<{width}}  {'on' if settings.cache_active else 'off'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "serve":
        from paramsecrets.boot import main as serve

        return serve(argv)
    if command == "dev":
        from paramsecrets.dev.cli import main as dev

        return dev(rest)
    if command == "get-parameter":
        from paramsecrets.client_cli import get_parameter_main

        return get_parameter_main(rest)
    if command == "get-secret":
        from paramsecrets.client_cli import get_secret_main

        return get_secret_main(rest)
    if command == "layer" and rest[:1] == ["build"]:
        from paramsecrets.layer import main as layer

        return layer(rest[1:])
    if command == "config" and rest[:1] == ["check"]:
        return config_check(rest[1:])
    if command in ("version", "--version"):
        from paramsecrets import __version__

        print(f"paramsecrets {__version__}")
        return 0
    print(f"paramsecrets: unknown command {' '.join(argv[:2])!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
