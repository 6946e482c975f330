package io.wharf.server.route;

import io.wharf.core.oci.Digest;
import io.wharf.core.oci.Reference;
import io.wharf.core.oci.RepositoryName;

/** A parsed, validated request path. Names and digests are validated before a Route exists. */
public sealed interface Route {

  /** Label for metrics and logs (a closed set). */
  String label();

  /** {@code GET /v2/}: API version check. */
  record Base() implements Route {
    @Override
    public String label() {
      return "base";
    }
  }

  /** {@code /v2/<name>/manifests/<reference>}. */
  record Manifest(RepositoryName name, Reference reference, String ns) implements Route {
    @Override
    public String label() {
      return "manifest";
    }
  }

  /** {@code /v2/<name>/blobs/<digest>}. */
  record Blob(RepositoryName name, Digest digest, String ns) implements Route {
    @Override
    public String label() {
      return "blob";
    }
  }

  /** {@code /v2/<name>/tags/list} with the raw {@code n}/{@code last} query. */
  record Tags(RepositoryName name, String query, String ns) implements Route {
    @Override
    public String label() {
      return "tags";
    }
  }

  /** {@code /v2/<name>/referrers/<digest>}. */
  record Referrers(RepositoryName name, Digest digest, String query, String ns) implements Route {
    @Override
    public String label() {
      return "referrers";
    }
  }

  /** Push endpoints and other write operations: always 405. */
  record Unsupported(String what) implements Route {
    @Override
    public String label() {
      return "unsupported";
    }
  }

  /** {@code /metrics}. */
  record Metrics() implements Route {
    @Override
    public String label() {
      return "metrics";
    }
  }

  /** {@code /healthz} or {@code /readyz}. */
  record Health(boolean readiness) implements Route {
    @Override
    public String label() {
      return readiness ? "readyz" : "healthz";
    }
  }

  /** Nothing here. */
  record NotFound(String path) implements Route {
    @Override
    public String label() {
      return "not_found";
    }
  }
}
