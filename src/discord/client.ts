// A small typed Discord REST client: code exchange, current user, token revocation, and the reads the
// self-check makes (the client-credentials grant, the application as its bot sees it).
// Base URL and fetch are injected (tests and the local stack point it at a fake Discord);
// every call has a timeout, and every failure becomes a DiscordError with a stable kind.

export const DISCORD_TIMEOUT_MS = 5000;
/** A 429 asking us to wait at most this long is retried once; a longer one fails the login cleanly. */
export const MAX_RETRY_AFTER_SECONDS = 2;

export interface DiscordUser {
  readonly id: string;
  readonly username: string;
  readonly global_name?: string | null;
  readonly avatar?: string | null;
  readonly email?: string | null;
  readonly verified?: boolean;
}

/** A member's roles in one guild; null when the user is not a member. */
export type GuildMember = { readonly roles: readonly string[] } | null;

/** The application as `GET /applications/@me` shows it to its bot (only the fields we read). */
export interface DiscordApplication {
  readonly id: string;
  readonly redirectUris: readonly string[];
  /** The bot user's id, when Discord includes the bot. */
  readonly botId: string | undefined;
}

export interface DiscordToken {
  readonly accessToken: string;
  readonly scope: string;
}

export type DiscordErrorKind =
  /** Discord refused our code exchange (expired or reused code, wrong redirect_uri or secret). */
  | "rejected"
  | "rate_limited"
  | "unavailable"
  | "timeout"
  | "bad_response";

export class DiscordError extends Error {
  readonly kind: DiscordErrorKind;
  readonly status: number | undefined;
  constructor(kind: DiscordErrorKind, message: string, status?: number) {
    super(message);
    this.name = "DiscordError";
    this.kind = kind;
    this.status = status;
  }
}

export interface DiscordClientOptions {
  readonly apiBase: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
  /** Cancels every call of this client (in flight or not yet sent): the login has already failed. */
  readonly signal?: AbortSignal;
}

/** Discord's JSON error codes for a 404 on a member call. */
export const UNKNOWN_GUILD = 10004;
export const UNKNOWN_MEMBER = 10007;
const NOT_A_MEMBER = Symbol("not a member");

const isTimeout = (err: unknown) => err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");

export class DiscordClient {
  readonly #opts: DiscordClientOptions;
  readonly #fetch: typeof fetch;

  constructor(opts: DiscordClientOptions) {
    this.#opts = opts;
    this.#fetch = opts.fetch ?? ((input, init) => fetch(input, init));
  }

  /** POST /oauth2/token (authorization_code). */
  async exchangeCode(code: string, redirectUri: string): Promise<DiscordToken> {
    const body = new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: redirectUri });
    const json = await this.#call("/oauth2/token", { method: "POST", headers: this.#clientAuth(), body });
    const token = json as { access_token?: unknown; scope?: unknown };
    if (typeof token.access_token !== "string" || token.access_token === "") {
      throw new DiscordError("bad_response", "token response without access_token");
    }
    return { accessToken: token.access_token, scope: typeof token.scope === "string" ? token.scope : "" };
  }

  /**
   * POST /oauth2/token (client_credentials): proves the client id and secret without a user. Discord
   * answers 401 invalid_client when either is wrong. The token it gives should be revoked at once.
   */
  async clientCredentials(scope = "identify"): Promise<DiscordToken> {
    const body = new URLSearchParams({ grant_type: "client_credentials", scope });
    const json = await this.#call("/oauth2/token", { method: "POST", headers: this.#clientAuth(), body });
    const token = json as { access_token?: unknown; scope?: unknown };
    if (typeof token.access_token !== "string" || token.access_token === "") {
      throw new DiscordError("bad_response", "token response without access_token");
    }
    return { accessToken: token.access_token, scope: typeof token.scope === "string" ? token.scope : "" };
  }

  /** GET /applications/@me with a bot token: the application's id, registered redirect URIs and bot. */
  async getApplication(botToken: string): Promise<DiscordApplication> {
    const json = (await this.#call("/applications/@me", { headers: { Authorization: `Bot ${botToken}` } })) as { id?: unknown; redirect_uris?: unknown; bot?: { id?: unknown } | null };
    if (typeof json.id !== "string") throw new DiscordError("bad_response", "application without id");
    const uris = json.redirect_uris ?? [];
    if (!Array.isArray(uris) || !uris.every((u) => typeof u === "string")) throw new DiscordError("bad_response", "application redirect_uris is not a list of strings");
    const botId = typeof json.bot?.id === "string" ? json.bot.id : undefined;
    return { id: json.id, redirectUris: uris, botId };
  }

  /** GET /users/@me with a bot token: the bot user's id. */
  async getBotUserId(botToken: string): Promise<string> {
    const json = (await this.#call("/users/@me", { headers: { Authorization: `Bot ${botToken}` } })) as { id?: unknown };
    if (typeof json.id !== "string" || !/^\d{1,20}$/.test(json.id)) throw new DiscordError("bad_response", "bot user without id");
    return json.id;
  }

  /** GET /users/@me. */
  async getUser(accessToken: string): Promise<DiscordUser> {
    const json = await this.#call("/users/@me", { headers: { Authorization: `Bearer ${accessToken}` } });
    const user = json as Partial<DiscordUser>;
    if (typeof user.id !== "string" || !/^\d{1,20}$/.test(user.id) || typeof user.username !== "string") {
      throw new DiscordError("bad_response", "user object without id or username");
    }
    return user as DiscordUser;
  }

  /** GET /users/@me/guilds (scope `guilds`): the ids of the user's guilds (Discord caps the list at 200). */
  async getGuildIds(accessToken: string): Promise<string[]> {
    const json = await this.#call("/users/@me/guilds", { headers: { Authorization: `Bearer ${accessToken}` } });
    if (!Array.isArray(json) || !json.every((g) => typeof g === "object" && g !== null && typeof (g as { id?: unknown }).id === "string")) {
      throw new DiscordError("bad_response", "guild list is not an array of guilds");
    }
    return json.map((g: { id: string }) => g.id);
  }

  /** The user's roles in a guild: with their own token (`guilds.members.read`), or with a bot token. */
  async getMember(guildId: string, auth: { userToken: string } | { botToken: string; userId: string }): Promise<GuildMember> {
    const [path, authorization] =
      "userToken" in auth
        ? [`/users/@me/guilds/${guildId}/member`, `Bearer ${auth.userToken}`]
        : [`/guilds/${guildId}/members/${auth.userId}`, `Bot ${auth.botToken}`];
    // 404 Unknown Member (10007) means "not a member"; so does Unknown Guild (10004) for the user's own
    // token, while for a bot it means the bot cannot see that guild: an operator's problem, not the user's.
    const notMember = "userToken" in auth ? [UNKNOWN_GUILD, UNKNOWN_MEMBER] : [UNKNOWN_MEMBER];
    const json = await this.#call(path, { headers: { Authorization: authorization } }, { notMember });
    if (json === NOT_A_MEMBER) return null;
    const roles = (json as { roles?: unknown }).roles;
    if (!Array.isArray(roles) || !roles.every((r) => typeof r === "string")) throw new DiscordError("bad_response", `${path}: member without roles`);
    return { roles };
  }

  /** POST /oauth2/token/revoke: we no longer need Discord's token once we have the identity. */
  async revoke(accessToken: string): Promise<void> {
    const body = new URLSearchParams({ token: accessToken, token_type_hint: "access_token" });
    await this.#call("/oauth2/token/revoke", { method: "POST", headers: this.#clientAuth(), body }, { expectJson: false });
  }

  #clientAuth(): Record<string, string> {
    const { clientId, clientSecret } = this.#opts;
    return { Authorization: `Basic ${btoa(`${clientId}:${clientSecret}`)}` };
  }

  #signal(): AbortSignal {
    const timeout = AbortSignal.timeout(this.#opts.timeoutMs ?? DISCORD_TIMEOUT_MS);
    return this.#opts.signal ? AbortSignal.any([timeout, this.#opts.signal]) : timeout;
  }

  async #send(path: string, init: RequestInit): Promise<Response> {
    try {
      return await this.#fetch(`${this.#opts.apiBase}${path}`, {
        ...init,
        headers: { Accept: "application/json", "User-Agent": "discord-oidc-bridge/0.1", ...init.headers },
        signal: this.#signal(),
      });
    } catch (err) {
      const timedOut = isTimeout(err);
      throw new DiscordError(timedOut ? "timeout" : "unavailable", `${path}: ${timedOut ? "timed out" : "network error"}`);
    }
  }

  /** Seconds a 429 asks us to wait (JSON `retry_after`, else the Retry-After header); NaN if unknown. */
  static async retryAfter(response: Response): Promise<number> {
    try {
      const body = (await response.clone().json()) as { retry_after?: unknown };
      if (typeof body.retry_after === "number") return body.retry_after;
    } catch {
      // not JSON
    }
    return Number(response.headers.get("Retry-After") ?? Number.NaN);
  }

  /**
   * One call, retried once on a short 429. Returns the JSON object or array, undefined when no JSON is
   * expected, or NOT_A_MEMBER for a 404 carrying one of the `notMember` codes.
   */
  async #call(path: string, init: RequestInit, { expectJson = true, notMember = [] as readonly number[] } = {}): Promise<unknown> {
    // Bodies are consumed once: re-create them for the single retry.
    const form = init.body instanceof URLSearchParams;
    const body = init.body instanceof URLSearchParams ? init.body.toString() : init.body;
    const headers = form ? { ...init.headers, "Content-Type": "application/x-www-form-urlencoded" } : init.headers;
    const attempt = () => this.#send(path, { ...init, ...(headers !== undefined && { headers }), ...(body !== undefined && { body }) });
    let response = await attempt();
    if (response.status === 429) {
      const wait = await DiscordClient.retryAfter(response);
      await response.body?.cancel();
      if (!(wait >= 0 && wait <= MAX_RETRY_AFTER_SECONDS)) throw new DiscordError("rate_limited", `${path}: rate limited for ${wait} s`, 429);
      await new Promise((resolve) => setTimeout(resolve, Math.ceil(wait * 1000)));
      if (this.#opts.signal?.aborted) throw new DiscordError("unavailable", `${path}: cancelled`);
      response = await attempt();
      if (response.status === 429) {
        await response.body?.cancel();
        throw new DiscordError("rate_limited", `${path}: still rate limited after one retry`, 429);
      }
    }
    if (response.status === 404 && notMember.length > 0) {
      const code = await DiscordClient.errorCode(response);
      if (code !== undefined && notMember.includes(code)) return NOT_A_MEMBER;
      throw new DiscordError("rejected", `${path}: Discord answered 404 with code ${code ?? "none"}`, 404);
    }
    if (response.status >= 500) {
      await response.body?.cancel();
      throw new DiscordError("unavailable", `${path}: Discord answered ${response.status}`, response.status);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new DiscordError("rejected", `${path}: Discord answered ${response.status}`, response.status);
    }
    if (!expectJson) {
      await response.body?.cancel();
      return undefined;
    }
    let json: unknown;
    try {
      json = await response.json();
    } catch (err) {
      if (isTimeout(err)) throw new DiscordError("timeout", `${path}: timed out reading the response`);
      throw new DiscordError("bad_response", `${path}: response is not JSON`, response.status);
    }
    if (typeof json !== "object" || json === null) throw new DiscordError("bad_response", `${path}: response is not a JSON object or array`, response.status);
    return json;
  }

  /** The `code` of a Discord JSON error body, if there is one. */
  static async errorCode(response: Response): Promise<number | undefined> {
    try {
      const body = (await response.json()) as { code?: unknown } | null;
      return typeof body?.code === "number" ? body.code : undefined;
    } catch {
      return undefined;
    }
  }
}
