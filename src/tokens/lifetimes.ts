// Token lifetimes, in one place: key rotation keeps a retired key as long as the longest of these.

export const ID_TOKEN_TTL_SECONDS = 3600;
export const ACCESS_TOKEN_TTL_SECONDS = 3600;
