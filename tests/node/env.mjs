// The harness's environment, shared by the node tests (tests/e2e/*.sh set
// it): a missing variable is an error naming the file that needs it.
export const env = (name, file = "the test") => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} must be set (see the header of ${file})`);
  return v;
};

// The gateway's base URL, without a trailing slash.
export const gatewayUrl = () => env("TOLLGATE_URL").replace(/\/$/, "");
