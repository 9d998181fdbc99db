// A small typed Discord REST client: code exchange, current user, token revocation.
// Base URL and fetch are injected (tests and the local stack point it at a fake Discord);
// every call has a timeout, and every failure becomes a DiscordError with a stable kind.

export const DISCORD_TIMEOUT_MS = 5000;

export interface DiscordUser {
  readonly id: string;
  readonly username: string;
  readonly global_name?: string | null;
  readonly avatar?: string | null;
  readonly email?: string | null;
  readonly verified?: boolean;
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
}

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

  /** GET /users/@me. */
  async getUser(accessToken: string): Promise<DiscordUser> {
    const json = await this.#call("/users/@me", { headers: { Authorization: `Bearer ${accessToken}` } });
    const user = json as Partial<DiscordUser>;
    if (typeof user.id !== "string" || !/^\d{1,20}$/.test(user.id) || typeof user.username !== "string") {
      throw new DiscordError("bad_response", "user object without id or username");
    }
    return user as DiscordUser;
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

  async #call(path: string, init: RequestInit, { expectJson = true } = {}): Promise<unknown> {
    const url = `${this.#opts.apiBase}${path}`;
    let response: Response;
    try {
      response = await this.#fetch(url, {
        ...init,
        headers: { Accept: "application/json", "User-Agent": "discord-oidc-bridge/0.1", ...init.headers },
        signal: AbortSignal.timeout(this.#opts.timeoutMs ?? DISCORD_TIMEOUT_MS),
      });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
      throw new DiscordError(timedOut ? "timeout" : "unavailable", `${path}: ${timedOut ? "timed out" : "network error"}`);
    }
    if (response.status === 429) {
      await response.body?.cancel();
      throw new DiscordError("rate_limited", `${path}: rate limited`, 429);
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
    try {
      return await response.json();
    } catch {
      throw new DiscordError("bad_response", `${path}: response is not JSON`, response.status);
    }
  }
}
