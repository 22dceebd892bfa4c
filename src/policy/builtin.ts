/** Grants everything; attached to root tokens. It has no text and can be neither written nor deleted. */
export const ROOT_POLICY = 'root';

/** Attached to every token unless asked otherwise; it can be edited but never deleted. */
export const DEFAULT_POLICY = 'default';

/**
 * The content `default` had before the identity store: what every token needs to manage itself. Kept so a store
 * whose `default` is still exactly this gets the identity lines added (migration 0301), and an edited one is left as
 * its operators wrote it.
 */
export const DEFAULT_POLICY_TEXT_BEFORE_IDENTITY = `# Let a token look up its own properties.
path "auth/token/lookup-self" {
  capabilities = ["read"]
}

# Let a token renew itself.
path "auth/token/renew-self" {
  capabilities = ["update"]
}

# Let a token revoke itself.
path "auth/token/revoke-self" {
  capabilities = ["update"]
}

# Let a token ask which capabilities it has on a path.
path "sys/capabilities-self" {
  capabilities = ["update"]
}

# Let a token read the combined ACL of its policies (used by user interfaces to decide what to show).
path "sys/internal/ui/resultant-acl" {
  capabilities = ["read"]
}

# Let a token renew a lease by id (old path for old clients, new path for newer ones).
path "sys/renew" {
  capabilities = ["update"]
}

path "sys/leases/renew" {
  capabilities = ["update"]
}

# Let a token look up a lease whose id it already knows; this reveals nothing sensitive.
path "sys/leases/lookup" {
  capabilities = ["update"]
}

# Let a token manage its own cubbyhole.
path "cubbyhole/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}

# Let a token wrap values in a response-wrapping token, inspect one, and unwrap one.
path "sys/wrapping/wrap" {
  capabilities = ["update"]
}

path "sys/wrapping/lookup" {
  capabilities = ["update"]
}

path "sys/wrapping/unwrap" {
  capabilities = ["update"]
}

# General purpose tools.
path "sys/tools/hash" {
  capabilities = ["update"]
}

path "sys/tools/hash/*" {
  capabilities = ["update"]
}

# Let a token check the status of a control group request it holds the accessor of.
path "sys/control-group/request" {
  capabilities = ["update"]
}

# Let a token use the authorization endpoint of OIDC providers.
path "identity/oidc/provider/+/authorize" {
  capabilities = ["read", "update"]
}
`;

/** Vault's default policy lets a token read its own entity, found through the templates. */
const ENTITY_SELF_LOOKUP = `
# Let a token look up its own identity entity, by id or by name.
path "identity/entity/id/{{identity.entity.id}}" {
  capabilities = ["read"]
}

path "identity/entity/name/{{identity.entity.name}}" {
  capabilities = ["read"]
}
`;

const CAPABILITIES_SELF = `# Let a token ask which capabilities it has on a path.
path "sys/capabilities-self" {
  capabilities = ["update"]
}
`;

/**
 * The content `default` has from the first start: the same grants Vault's default policy makes, its own-entity lookup
 * included (a token without an entity gets nothing from those two paths: their templates do not resolve).
 */
export const DEFAULT_POLICY_TEXT = DEFAULT_POLICY_TEXT_BEFORE_IDENTITY.replace(
  CAPABILITIES_SELF,
  `${CAPABILITIES_SELF}${ENTITY_SELF_LOOKUP}`,
);
