// The columns of a grant as every store reads it (GrantRecord), for Prisma selects of the grants table and of
// the grant joined to a refresh token.
export const GRANT_FIELDS = {
  id: true,
  userId: true,
  clientId: true,
  scopes: true,
  resource: true,
  codeChallenge: true,
  createdAt: true,
  expiresAt: true,
  revokedAt: true,
  dpopJkt: true,
} as const;
