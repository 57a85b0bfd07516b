/**
 * The simulator's serving certificate for its HTTPS listener: kubectl (client-go) sends a bearer
 * token only over TLS (clientcmd getUserIdentificationPartialConfig; kubernetes/kubectl#744), so a
 * ServiceAccount kubeconfig must point at https. A fixed self-signed certificate for 127.0.0.1 and
 * localhost, valid for a century, generated once with openssl for this simulator: it protects
 * nothing and is published on purpose, like Go's net/http/internal/testcert.
 */

/** PEM certificate; also the kubeconfig's certificate-authority-data. */
export const SIM_TLS_CERT = `
-----BEGIN CERTIFICATE-----
MIIB1TCCAXqgAwIBAgIUfL9OIuAXoUIYfUoCCJCXqUg4YFswCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwScm9sbGJhY2stZHJpbGwtc2ltMCAXDTI2MTEyNjA2MDg1OFoY
DzIxMjYxMTAyMDYwODU4WjAdMRswGQYDVQQDDBJyb2xsYmFjay1kcmlsbC1zaW0w
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAREFinwFjn3iwrIfK7f0hS5bZ/suAjU
3FJUTOHcCzKwon0am0YHQLm78dzGum47HdMSENH1aEpF8d7b8HtTZjR9o4GVMIGS
MB0GA1UdDgQWBBRxK6WXzeEfSWWWW0dO46bzp7vYqTAfBgNVHSMEGDAWgBRxK6WX
zeEfSWWWW0dO46bzp7vYqTAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwDwYD
VR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAoQwEwYDVR0lBAwwCgYIKwYBBQUH
AwEwCgYIKoZIzj0EAwIDSQAwRgIhAJTbnmWHMmV4ocvQ9y2EIIoExKiC1wHxksRi
rB7bo5e0AiEAw7/D05iPaXooDNsGnxxjUb7ZN9b7PQXOWLZxUWfC8uk=
-----END CERTIFICATE-----
`.trimStart();

/** PEM private key of SIM_TLS_CERT (test-only, see above). */
export const SIM_TLS_KEY = `
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg1LXkEKN0N60I/i37
X+88GnBq/rwYZZkcJXHRDDh6Y9ihRANCAAREFinwFjn3iwrIfK7f0hS5bZ/suAjU
3FJUTOHcCzKwon0am0YHQLm78dzGum47HdMSENH1aEpF8d7b8HtTZjR9
-----END PRIVATE KEY-----
`.trimStart();
