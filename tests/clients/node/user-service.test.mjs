// Family Z through ZITADEL's own TypeScript client, unchanged:
// `createUserServiceClient` from @zitadel/client/v2 over each transport of
// @connectrpc/connect-node that runs over HTTP/1.1 (what API Gateway's REST
// API carries): gRPC-web binary and JSON, Connect binary and JSON. The bearer
// token goes through @zitadel/client's own interceptor. The client reports a
// failure as a ConnectError with a gRPC code and, where the server sends
// them, google.rpc.BadRequest details.
//
// Environment: API_URL (default http://127.0.0.1:9000); PWCTL, a built pwctl
// binary (else `cargo run -q --bin pwctl --`); PWCTL_ENV_FILE, the stack's
// settings file (else pwctl's default, local.env).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { create, createFileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { NewAuthorizationBearerInterceptor } from "@zitadel/client";
import { createUserServiceClient } from "@zitadel/client/v2";
import { NotificationType } from "@zitadel/proto/zitadel/user/v2/password_pb.js";
import { ADMIN_SCOPE, createUser as pwctlCreateUser } from "../../local-stack.mjs";

const API_URL = (process.env.API_URL ?? "http://127.0.0.1:9000").replace(/\/$/, "");
const ROOT = new URL("../../../", import.meta.url).pathname;

const TRANSPORTS = {
  "gRPC-web binary": (interceptors) =>
    createGrpcWebTransport({ baseUrl: API_URL, httpVersion: "1.1", useBinaryFormat: true, interceptors }),
  "gRPC-web JSON": (interceptors) =>
    createGrpcWebTransport({ baseUrl: API_URL, httpVersion: "1.1", useBinaryFormat: false, interceptors }),
  "Connect binary": (interceptors) =>
    createConnectTransport({ baseUrl: API_URL, httpVersion: "1.1", useBinaryFormat: true, interceptors }),
  "Connect JSON": (interceptors) =>
    createConnectTransport({ baseUrl: API_URL, httpVersion: "1.1", useBinaryFormat: false, interceptors }),
};

// google.rpc.BadRequest, which no installed package describes: its two
// fields, from googleapis' google/rpc/error_details.proto.
const BadRequest = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "google/rpc/error_details.proto",
    package: "google.rpc",
    syntax: "proto3",
    messageType: [{
      name: "BadRequest",
      field: [{ name: "field_violations", jsonName: "fieldViolations", number: 1, label: 3, type: 11, typeName: ".google.rpc.BadRequest.FieldViolation" }],
      nestedType: [{
        name: "FieldViolation",
        field: [
          { name: "field", jsonName: "field", number: 1, label: 1, type: 9 },
          { name: "description", jsonName: "description", number: 2, label: 1, type: 9 },
        ],
      }],
    }],
  }),
  () => undefined,
).getMessage("google.rpc.BadRequest");

function pwctl(...args) {
  const [command, prefix] = process.env.PWCTL
    ? [process.env.PWCTL, []]
    : ["cargo", ["run", "-q", "--bin", "pwctl", "--"]];
  const envFile = process.env.PWCTL_ENV_FILE ? ["--env-file", process.env.PWCTL_ENV_FILE] : [];
  return execFileSync(command, [...prefix, ...envFile, ...args], { cwd: ROOT, encoding: "utf8" }).trim();
}

const freshPassword = (label = "new") => `${label} lantern orchard ${randomBytes(3).toString("hex")}`;

/** A user with a password; each client gets a fresh token, because a
 * password change ends the sessions of tokens issued before it. */
function createUser(name, makeTransport) {
  const email = `${name}.${randomBytes(4).toString("hex")}@example.com`;
  const password = freshPassword("first");
  const id = pwctlCreateUser(pwctl, email, "--password", password);
  return {
    id,
    email,
    password,
    client: () => createUserServiceClient(makeTransport([NewAuthorizationBearerInterceptor(pwctl("token", id))])),
    show: () => JSON.parse(pwctl("user", "show", id)),
    // Each body as a mail client shows it: the emulator keeps the HTML
    // part, whose links escape `&` as `&amp;`.
    mails: () => JSON.parse(pwctl("mail", "list", "--to", email)).map((mail) => ({ ...mail, body: unescapeHtml(mail.body) })),
  };
}

const unescapeHtml = (text) =>
  text.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, name) =>
    ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'", "#x27": "'" })[name]);

const setPassword = (client, userId, password, verification) =>
  client.setPassword({ userId, newPassword: { password, changeRequired: false }, verification });
const current = (value) => ({ case: "currentPassword", value });
const code = (value) => ({ case: "verificationCode", value });

async function rpcError(call) {
  try {
    await call();
  } catch (error) {
    return ConnectError.from(error);
  }
  assert.fail("the call succeeded");
}

/** Compares codes by name, and shows the server's message on a mismatch. */
function assertCode(error, expected) {
  assert.equal(Code[error.code], Code[expected], `${Code[error.code]}: ${error.rawMessage}`);
}

const violations = (error) =>
  error.findDetails(BadRequest).flatMap((d) => d.fieldViolations.map((v) => [v.field, v.description]));

function assertDetailsMatch(details, user) {
  const shown = user.show();
  assert.equal(details.sequence, BigInt(shown.sequence));
  assert.equal(details.resourceOwner, shown.resourceOwner);
  assert.ok(Math.abs(Date.now() - timestampDate(details.changeDate).getTime()) < 120_000);
}

for (const [name, makeTransport] of Object.entries(TRANSPORTS)) {
  describe(`@zitadel/client over ${name}`, () => {
    const newUser = (label) => createUser(label, makeTransport);
    const admin = () =>
      createUserServiceClient(
        makeTransport([NewAuthorizationBearerInterceptor(pwctl("token", randomBytes(12).toString("hex"), "--scope", ADMIN_SCOPE))]),
      );
    const anonymous = () => createUserServiceClient(makeTransport([]));

    test("SetPassword with the current password; the new one works", async () => {
      const user = newUser("rpc-current");
      const next = freshPassword();
      const answer = await setPassword(user.client(), user.id, next, current(user.password));
      assertDetailsMatch(answer.details, user);
      const again = await setPassword(user.client(), user.id, freshPassword("newer"), current(next));
      assert.ok(again.details.sequence > answer.details.sequence);
      assertDetailsMatch(again.details, user);
    });

    test("SetPassword with a code that PasswordReset returned to an admin", async () => {
      const user = newUser("rpc-code");
      const issued = await admin().passwordReset({ userId: user.id, medium: { case: "returnCode", value: {} } });
      assert.match(issued.verificationCode, /^[A-Z0-9]{1,20}$/);
      assertDetailsMatch(issued.details, user);
      const next = freshPassword();
      const answer = await setPassword(user.client(), user.id, next, code(issued.verificationCode));
      assertDetailsMatch(answer.details, user);
      await setPassword(user.client(), user.id, freshPassword("newer"), current(next));
    });

    test("SetPassword with a code that PasswordReset sent by email", async () => {
      const user = newUser("rpc-link");
      const issued = await user.client().passwordReset({
        userId: user.id,
        medium: {
          case: "sendLink",
          value: { notificationType: NotificationType.Email, urlTemplate: "https://app.example/reset?user={{.UserID}}&code={{.Code}}" },
        },
      });
      assert.equal(issued.verificationCode, undefined);
      const link = new RegExp(`https://app\\.example/reset\\?user=${user.id}&code=([A-Z0-9]+)`);
      const sent = user.mails().at(-1).body.match(link)[1];
      const answer = await setPassword(user.client(), user.id, freshPassword(), code(sent));
      assertDetailsMatch(answer.details, user);
    });

    test("a wrong current password is InvalidArgument on currentPassword", async () => {
      const user = newUser("rpc-wrong");
      const error = await rpcError(() => setPassword(user.client(), user.id, freshPassword(), current("not it at all")));
      assertCode(error, Code.InvalidArgument);
      assert.deepEqual(violations(error).map(([field]) => field), ["currentPassword"]);
    });

    test("another user's password is PermissionDenied", async () => {
      const user = newUser("rpc-victim");
      const stranger = newUser("rpc-stranger");
      const error = await rpcError(() => setPassword(stranger.client(), user.id, freshPassword(), current(user.password)));
      assertCode(error, Code.PermissionDenied);
    });

    test("no token is Unauthenticated", async () => {
      const user = newUser("rpc-anonymous");
      const error = await rpcError(() => setPassword(anonymous(), user.id, freshPassword(), current(user.password)));
      assertCode(error, Code.Unauthenticated);
    });

    test("an unknown user is NotFound for an admin", async () => {
      const error = await rpcError(() => setPassword(admin(), randomBytes(12).toString("hex"), freshPassword()));
      assertCode(error, Code.NotFound);
    });

    test("a policy violation is InvalidArgument on newPassword.password", async () => {
      const user = newUser("rpc-policy");
      const error = await rpcError(() => setPassword(user.client(), user.id, "short", current(user.password)));
      assertCode(error, Code.InvalidArgument);
      const [[field, description]] = violations(error);
      assert.equal(field, "newPassword.password");
      assert.match(description, /password-too-short/);
    });

    test("too many wrong current passwords are ResourceExhausted, then for the right one too", async () => {
      const user = newUser("rpc-limit");
      const client = user.client();
      let wrong = 0;
      let error;
      for (;;) {
        error = await rpcError(() => setPassword(client, user.id, freshPassword(), current("not it")));
        if (error.code !== Code.InvalidArgument) break;
        wrong += 1;
        assert.ok(wrong <= 50, "no limit on wrong current passwords");
      }
      assert.ok(wrong >= 1, "the first wrong password was already refused for the limit");
      assertCode(error, Code.ResourceExhausted);
      const right = await rpcError(() => setPassword(client, user.id, freshPassword(), current(user.password)));
      assertCode(right, Code.ResourceExhausted);
    });
  });
}
