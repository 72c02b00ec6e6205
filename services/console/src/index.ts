/**
 * `@gatehouse/console`: the web console's gateway (API.md). The web app it serves is the
 * `@gatehouse/console-web` workspace in `web/`.
 */
export { CONSOLE_ENV_NAMES, type ConsoleConfig, DEFAULT_WEB_DIR, loadConsoleConfig } from "./config.ts";
export { type ConsoleGateway, type ConsoleGatewayOptions, SESSION_COOKIE, startConsoleGateway } from "./gateway.ts";
export { HttpError, type HttpErrorBody, toHttpError } from "./http-error.ts";
export { AUTHZ_OPERATIONS, OPERATOR_ONLY_OPERATIONS } from "./operation-table.ts";
