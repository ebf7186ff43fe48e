// Tokens from a real issuer: oidc-provider (a certified OpenID Provider) mints
// RFC 9068 JWT access tokens by the client-credentials grant, the client's id
// being a user id of ours, and the running stack verifies them with the keys
// it fetches from the provider's JWKS endpoint (SPEC section 1). The provider
// rotates its keys while the stack runs (restarted with another key list, as
// a client sees a rotation): no restart, no deploy.
//
// Environment (tests/issuer/run.sh sets it): API_URL, the stack; ISSUER_PORT,
// where the provider listens (the stack's JWT_ISSUER and JWT_JWKS_URL name
// it); USER_ID and TARGET_ID, users of the stack (the first a caller, the
// second the admin's target); REFRESH_SECONDS, the stack's refresh floor;
// PROCESSES, how many processes serve one function (each has its own cache).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import Provider from "oidc-provider";
import { SignJWT, importJWK } from "jose";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { NewAuthorizationBearerInterceptor } from "@zitadel/client";
import { createUserServiceClient } from "@zitadel/client/v2";
import { NotificationType } from "@zitadel/proto/zitadel/user/v2/password_pb.js";
import { ADMIN_SCOPE } from "../local-stack.mjs";

const API_URL = process.env.API_URL.replace(/\/$/, "");
const ISSUER = `http://127.0.0.1:${process.env.ISSUER_PORT}`;
const USER_ID = process.env.USER_ID;
const TARGET_ID = process.env.TARGET_ID;
const ADMIN_ID = randomBytes(12).toString("hex");
const REFRESH_SECONDS = Number(process.env.REFRESH_SECONDS ?? "3");
const PROCESSES = Number(process.env.PROCESSES ?? "1");
const AUDIENCE = "password-service";
const RESOURCE = "urn:password-service";
const SECRET = "client-secret-of-the-tests";

// A signing key as a private JWK with its kid.
function key(kind, kid) {
  const pair = kind === "RSA"
    ? generateKeyPairSync("rsa", { modulusLength: 2048 })
    : generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { ...pair.privateKey.export({ format: "jwk" }), kid, use: "sig", alg: kind === "RSA" ? "RS256" : "ES256" };
}

const KEYS = {
  rsa1: key("RSA", "rsa-1"),
  ec1: key("EC", "ec-1"),
  rsa2: key("RSA", "rsa-2"),
};

// The provider, as one running instance at a time; `jwksFetches` counts the
// GETs of its key set, which only the functions make.
let running;
let jwksFetches = 0;

async function startProvider(keys, alg = "RS256") {
  await stopProvider();
  const client = (id, scope) => ({
    client_id: id,
    client_secret: SECRET,
    grant_types: ["client_credentials"],
    redirect_uris: [],
    response_types: [],
    ...(scope ? { scope } : {}),
  });
  const provider = new Provider(ISSUER, {
    clients: [client(USER_ID), client(ADMIN_ID, ADMIN_SCOPE)],
    jwks: { keys },
    scopes: ["openid", ADMIN_SCOPE],
    ttl: { ClientCredentials: 600 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          audience: AUDIENCE,
          accessTokenFormat: "jwt",
          jwt: { sign: { alg } },
          scope: ADMIN_SCOPE,
        }),
      },
    },
  });
  provider.use(async (ctx, next) => {
    if (ctx.path === "/jwks") jwksFetches += 1;
    await next();
  });
  await new Promise((resolve) => {
    const server = provider.listen(Number(process.env.ISSUER_PORT), "127.0.0.1", resolve);
    running = server;
  });
}

async function stopProvider() {
  if (!running) return;
  const server = running;
  running = undefined;
  server.closeAllConnections?.();
  await new Promise((resolve) => server.close(resolve));
}

async function tokenFor(clientId, scope) {
  const body = new URLSearchParams({ grant_type: "client_credentials", resource: RESOURCE });
  if (scope) body.set("scope", scope);
  const request = () => fetch(`${ISSUER}/token`, {
    method: "POST",
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${SECRET}`).toString("base64")}` },
    body,
  });
  // A kept-alive connection to the provider's previous instance fails once.
  const response = await request().catch(request);
  const answer = await response.json();
  assert.equal(response.status, 200, JSON.stringify(answer));
  return answer.access_token;
}

function header(token) {
  return JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString());
}

// A token the provider never issued: signed by `jwk` under `kid`.
async function forged(jwk, kid, claims = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ scope: "", ...claims })
    .setProtectedHeader({ alg: jwk.alg, kid, typ: "at+jwt" })
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(USER_ID)
    .setIssuedAt(now)
    .setExpirationTime(claims.exp ?? now + 600)
    .sign(await importJWK(jwk, jwk.alg));
}

// One endpoint of each family, as its clients call it.
async function p1(token) {
  const response = await fetch(`${API_URL}/user/password`, { method: "PUT", headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json(), challenge: response.headers.get("www-authenticate") };
}

async function z1Rest(token) {
  const response = await fetch(`${API_URL}/v2/users/${USER_ID}/password_reset`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ sendLink: { notificationType: "NOTIFICATION_TYPE_Email" } }),
  });
  return { status: response.status, body: await response.json(), challenge: response.headers.get("www-authenticate") };
}

async function z1Rpc(token) {
  const transport = createGrpcWebTransport({
    baseUrl: API_URL,
    httpVersion: "1.1",
    interceptors: [NewAuthorizationBearerInterceptor(token)],
  });
  try {
    await createUserServiceClient(transport).passwordReset({
      userId: USER_ID,
      medium: { case: "sendLink", value: { notificationType: NotificationType.Email } },
    });
    return { code: 0 };
  } catch (error) {
    return { code: error.code, message: error.rawMessage };
  }
}

async function o1(token) {
  const response = await fetch(`${API_URL}/v1/users/${TARGET_ID}/reset-password`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ new_password: `issuer-${randomBytes(6).toString("hex")}-set` }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, challenge: response.headers.get("www-authenticate") };
}

// Every family accepts `user` (the user's own token) and `admin`.
async function assertAccepted(user, admin, step) {
  const p = await p1(user);
  assert.equal(p.status, 202, `${step}: P1 ${JSON.stringify(p.body)}`);
  const z = await z1Rest(user);
  assert.equal(z.status, 200, `${step}: Z1 REST ${JSON.stringify(z.body)}`);
  assert.deepEqual(await z1Rpc(user), { code: 0 }, `${step}: Z1 through @zitadel/client (gRPC-web)`);
  assert.equal((await o1(admin)).status, 204, `${step}: O1`);
}

// Every family refuses `token` with its own 401 and a Bearer challenge.
async function assertRefused(token, why) {
  const p = await p1(token);
  assert.equal(p.status, 401, `${why}: P1`);
  assert.equal(p.body.errors[0].status, "401", `${why}: P1 body`);
  assert.match(p.challenge, /^Bearer .*error="invalid_token"/, `${why}: P1 challenge`);
  const z = await z1Rest(token);
  assert.equal(z.status, 401, `${why}: Z1 REST`);
  assert.equal(z.body.code, 16, `${why}: Z1 REST body`);
  assert.equal((await z1Rpc(token)).code, 16, `${why}: Z1 RPC`); // Code.Unauthenticated
  const o = await o1(token);
  assert.equal(o.status, 401, `${why}: O1`);
  assert.equal(o.body.code, 401, `${why}: O1 body`);
}

// Past the stack's refresh floor, so that the next unknown kid may fetch.
const pastTheFloor = () => new Promise((resolve) => setTimeout(resolve, (REFRESH_SECONDS + 1) * 1000));

describe("tokens from oidc-provider", { concurrency: false }, () => {
  before(() => startProvider([KEYS.rsa1]));
  after(() => stopProvider());

  let rotatedUser;
  let rotatedAdmin;

  test("an RS256 access token (at+jwt) is accepted by one endpoint of each family", async () => {
    const user = await tokenFor(USER_ID);
    assert.equal(header(user).typ, "at+jwt");
    assert.equal(header(user).kid, "rsa-1");
    await assertAccepted(user, await tokenFor(ADMIN_ID, ADMIN_SCOPE), "RS256");
  });

  test("an ES256 token is accepted once the provider signs with an EC key", async () => {
    await pastTheFloor();
    await startProvider([KEYS.rsa1, KEYS.ec1], "ES256");
    const user = await tokenFor(USER_ID);
    assert.equal(header(user).alg, "ES256");
    await assertAccepted(user, await tokenFor(ADMIN_ID, ADMIN_SCOPE), "ES256");
  });

  test("rotation: a new key first, the old one kept, then the old one removed", async () => {
    // Back to signing with rsa-1 (cached already: no fetch), then rotate.
    await startProvider([KEYS.rsa1]);
    const oldUser = await tokenFor(USER_ID);
    assert.equal(header(oldUser).kid, "rsa-1");
    await pastTheFloor();
    await startProvider([KEYS.rsa2, KEYS.rsa1]);
    rotatedUser = await tokenFor(USER_ID);
    rotatedAdmin = await tokenFor(ADMIN_ID, ADMIN_SCOPE);
    assert.equal(header(rotatedUser).kid, "rsa-2");
    await assertAccepted(rotatedUser, rotatedAdmin, "new key published beside the old");
    assert.equal((await p1(oldUser)).status, 202, "a token under the old key, still published");

    await pastTheFloor();
    await startProvider([KEYS.rsa2]);
    await assertAccepted(await tokenFor(USER_ID), await tokenFor(ADMIN_ID, ADMIN_SCOPE), "old key removed");
  });

  test("a key never published, another issuer, an expired token: 401 in each family's shape", async () => {
    const stranger = key("RSA", "never-published");
    await assertRefused(await forged(stranger, "never-published"), "a key the provider never published");
    await assertRefused(await forged(KEYS.rsa2, "rsa-2", { iss: "http://127.0.0.1:1/another-issuer" }), "another issuer");
    const past = Math.floor(Date.now() / 1000) - 3600;
    await assertRefused(await forged(KEYS.rsa2, "rsa-2", { exp: past }), "expired");
  });

  test("a burst of unknown kids costs at most one fetch per process and floor", async () => {
    await pastTheFloor();
    const before = jwksFetches;
    const tokens = await Promise.all(
      Array.from({ length: 20 }, (_, i) => forged(key("RSA", `burst-${i}`), `burst-${i}`)),
    );
    const answers = await Promise.all(tokens.map((token) => p1(token)));
    assert.deepEqual([...new Set(answers.map((a) => a.status))], [401]);
    const fetched = jwksFetches - before;
    console.log(`# a burst of 20 unknown kids at P1 made ${fetched} JWKS fetch(es) (${PROCESSES} process(es))`);
    assert.ok(fetched >= 1 && fetched <= PROCESSES, `${fetched} fetches`);
  });

  test("with the provider stopped, tokens under cached keys still work", async () => {
    await stopProvider();
    await assertAccepted(rotatedUser, rotatedAdmin, "provider stopped");
  });
});
