"""The `paramsecrets` command: dispatches to each subcommand, importing only what it needs."""

from __future__ import annotations

import sys

USAGE = """usage: paramsecrets <command> [options]

commands:
  serve          run the cache server (a Lambda extension when AWS_LAMBDA_RUNTIME_API is set)
  dev            run the server against an embedded AWS backend seeded from a file
  get-parameter  print a parameter's value (client)
  get-secret     print a secret's value (client)
  exec           fill variables and files from parameters and secrets, then run a command
  layer build    build the Lambda layer zip
  layer lock     pin the layer's Debian packages and wheels to the newest versions
  layer publish  publish a layer zip as a Lambda layer version in one or more regions
  config check   validate the configuration and print the effective values
  version        print the version (in the layer: also its Python, glibc and awscrt)

Run `paramsecrets <command> --help` for a command's options."""


GROUPS = {
    "layer": (
        ("build", "build the Lambda layer zip (`paramsecrets layer build --help` for its options)"),
        ("lock", "pin the layer's Debian packages and wheels to the newest versions "
                 "(`paramsecrets layer lock --help`)"),
        ("publish", "publish a layer zip as a Lambda layer version (`paramsecrets layer publish --help`)"),
    ),
    "config": (("check", "validate the configuration and print the effective values "
                         "(`paramsecrets config check --help` for its options)"),),
}
VERSION_HELP = """usage: paramsecrets version

Print the version of paramsecrets (also: paramsecrets --version)."""


def group_usage(command: str, rest: list[str]) -> int:
    """`paramsecrets layer` / `config` with no or an unknown subcommand: list its subcommands."""
    subcommands = GROUPS[command]
    usage = "\n".join(f"{'usage:' if i == 0 else '      '} paramsecrets {command} {sub} [options]"
                      for i, (sub, _) in enumerate(subcommands))
    text = usage + "\n\n" + "\n".join(f"  {sub:<8} {what}" for sub, what in subcommands)
    if rest[:1] in (["-h"], ["--help"]):
        print(text)
        return 0
    problem = f"unknown subcommand {rest[0]!r}" if rest else "a subcommand is needed"
    print(f"paramsecrets {command}: {problem}\n{text}", file=sys.stderr)
    return 2


def config_check(argv: list[str]) -> int:
    """Validate env + file + flags exactly as `serve` would; print the result, never a token.

    Every problem is listed in one run (settings, token, AWS region and endpoints), one per line.
    """
    import argparse

    from paramsecrets import config
    from paramsecrets.api import tokens
    from paramsecrets.aws.settings import resolve_aws

    parser = argparse.ArgumentParser(
        prog="paramsecrets config check",
        description="Check the configuration exactly as `paramsecrets serve` would (flags, environment, TOML file) "
                    "and print every effective setting with where it came from, the token's source (never its "
                    "value), the AWS region and endpoints, and whether AWS credentials can be found (a warning "
                    "naming where the chain looked when none can). Lists every problem found, one per line. "
                    "Exit 0 when the server would start, 2 otherwise.")
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file "
                                                         "(default: PARAMETERS_SECRETS_EXTENSION_CONFIG_FILE)")
    parser.add_argument("--port", metavar="N", help="the HTTP port, as `serve --port`")
    parser.add_argument("--log-level", metavar="LEVEL", help="the log level, as `serve --log-level`")
    args = parser.parse_args(argv)
    problems: list[str] = []
    settings = None
    try:
        settings = config.load(flags={"http_port": args.port, "log_level": args.log_level},
                               config_file=args.config)
    except config.ConfigError as error:
        problems += [problem.message for problem in error.problems]
    token = None
    try:
        token = tokens.resolve(settings.token_env if settings else config.DEFAULT_TOKEN_ENV)
    except tokens.TokenError as error:
        problems.append(str(error))
    if settings is not None:
        from paramsecrets.api import clientkey

        try:
            clientkey.resolve(settings)  # both halves, the id's form, never an AWS credential
        except config.ConfigError as error:
            problems.append(error.message)
    aws = None
    try:
        aws = resolve_aws(own_port=settings.http_port if settings else None,  # the endpoints `serve` would call
                          own_address=settings.listen_address if settings else "")
    except config.ConfigError as error:
        problems.append(error.message)
    if problems or settings is None or token is None or aws is None:
        for problem in problems:
            print(f"paramsecrets: configuration error: {problem}", file=sys.stderr)
        return 2
    width = max(len(env) for env, *_ in settings.effective())
    for env, _key, value, source in settings.effective():
        print(f"{env:<{width}}  {value}  ({source})")
    print(f"{'token':<{width}}  from {token.source} (value hidden)")
    print(f"{'AWS region':<{width}}  {aws.region}")
    print(f"{'SSM endpoint':<{width}}  {aws.ssm.url}")
    print(f"{'Secrets Manager endpoint':<{width}}  {aws.secrets.url}")
    print(f"{'AWS CA bundle':<{width}}  {aws.ca_bundle or 'none: the system trust store'}")
    for title, proxy in (("SSM proxy", aws.ssm_proxy), ("Secrets Manager proxy", aws.secrets_proxy)):
        print(f"{title:<{width}}  {proxy.shown if proxy else 'none: direct'}")
    print(f"{'cache':<{width}}  {'on' if settings.cache_active else 'off'}")
    print(f"{'AWS credentials':<{width}}  {_credentials_status(aws.ca_bundle)}")
    return 0


def _credentials_status(ca_bundle: str | None) -> str:
    """What `serve` would find in the credentials chain (never a credential); a warning on stderr if
    nothing. Not a configuration error (exit 0): the server starts, and credentials may come later."""
    import asyncio
    import os

    from paramsecrets.aws.credential_check import find_credentials, missing_message

    try:
        from paramsecrets.aws.transport import CrtRuntime

        reason = asyncio.run(find_credentials(CrtRuntime(ca_bundle).credentials))
    except Exception as error:  # awscrt missing or broken: the check cannot run, say so
        return f"not checked ({type(error).__name__}: {error})"
    if reason is None:
        return "found by the default chain"
    print(f"paramsecrets: warning: {missing_message(os.environ, reason)}", file=sys.stderr)
    return f"NONE FOUND ({reason})"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "serve":
        from paramsecrets.process.boot import main as serve

        return serve(argv)
    if command == "dev":
        from paramsecrets.dev.cli import main as dev

        return dev(rest)
    if command == "get-parameter":
        from paramsecrets.client.cli import get_parameter_main

        return get_parameter_main(rest)
    if command == "get-secret":
        from paramsecrets.client.cli import get_secret_main

        return get_secret_main(rest)
    if command == "exec":
        from paramsecrets.client.exec_cmd import main as exec_main

        return exec_main(rest)
    if command == "layer" and rest[:1] == ["build"]:
        from paramsecrets.layer.build import main as layer

        return layer(rest[1:])
    if command == "layer" and rest[:1] == ["lock"]:
        from paramsecrets.layer.build import lock_main

        return lock_main(rest[1:])
    if command == "layer" and rest[:1] == ["publish"]:
        from paramsecrets.layer.publish import main as publish

        return publish(rest[1:])
    if command == "config" and rest[:1] == ["check"]:
        return config_check(rest[1:])
    if command in GROUPS:
        return group_usage(command, rest)
    if command in ("version", "--version"):
        if rest[:1] in (["-h"], ["--help"]):
            print(VERSION_HELP)
            return 0
        if rest:
            print(f"paramsecrets version: unexpected argument {rest[0]!r}\n{VERSION_HELP}", file=sys.stderr)
            return 2
        from paramsecrets.version_info import describe

        print("\n".join(describe()))
        return 0
    print(f"paramsecrets: unknown command {' '.join(argv[:2])!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
