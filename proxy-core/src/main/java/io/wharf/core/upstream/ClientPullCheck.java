package io.wharf.core.upstream;

import io.wharf.core.oci.RepositoryName;
import java.net.URI;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Asks the registry, with a client's own credentials, whether that client may pull a repository
 * (pass-through mode). The probe is {@code GET /v2/<repo>/tags/list?n=1}: a repository-level
 * read that every registry guards with the repository's pull permission, unlike a manifest or
 * blob HEAD, which needs a reference that exists.
 *
 * <h2>Design</h2>
 *
 * <p>The client's {@code Authorization: Basic} goes to the registry's origin and, for a token
 * registry, to the token realm its challenge names (scope {@code repository:<repo>:pull}), and
 * nowhere else: {@link Transport} drops it on redirects to other origins. Tokens obtained with a
 * client's credentials are used for this one probe and never cached or shared; Wharf's own
 * {@link TokenCache} is not involved. The only state is which scheme the registry asked for last
 * (so a token registry costs a token request and the probe, not a wasted first attempt). Nothing
 * from the credentials or tokens enters a message.
 *
 * <p>Answers: 2xx → {@link RegistryClient.PullCheck#ALLOWED}; 401/403 from the registry or the
 * token endpoint → {@code DENIED}; 404 → {@code NOT_FOUND} (registries also hide private
 * repositories behind 404); anything else fails as an {@link UpstreamFailure}.
 */
final class ClientPullCheck {

  private final Transport transport;
  private final URI origin;
  private final Clock clock;
  private final AtomicReference<RegistryAuth.Remembered> bearer = new AtomicReference<>();

  ClientPullCheck(Transport transport, URI origin, Clock clock) {
    this.transport = transport;
    this.origin = origin;
    this.clock = clock;
  }

  CompletableFuture<RegistryClient.PullCheck> check(String kind, RepositoryName repo, URI probe,
      String basic) {
    RegistryAuth.Remembered r = bearer.get();
    if (r != null) {
      return withToken(kind, repo, probe, basic, r);
    }
    return send(kind, probe, basic).thenCompose(sent -> {
      RegistryAuth.Remembered challenge = sent.status() == 401 && sent.atAuthOrigin()
          ? bearerChallenge(sent) : null;
      if (challenge == null) {
        return CompletableFuture.completedFuture(answer(kind, sent));
      }
      transport.record(kind, "challenged");
      bearer.set(challenge);
      return withToken(kind, repo, probe, basic, challenge);
    });
  }

  private CompletableFuture<RegistryClient.PullCheck> withToken(String kind, RepositoryName repo,
      URI probe, String basic, RegistryAuth.Remembered r) {
    URI tokenUri = TokenCache.tokenUri(new TokenCache.Key(r.realm(), r.service(), repo.value()));
    return transport.send("token", "GET", tokenUri, Map.of("Accept", "application/json"), basic,
            tokenUri, BoundedBody.handler(TokenCache.MAX_TOKEN_RESPONSE, s -> s / 100 == 2))
        .thenCompose(sent -> {
          int s = sent.status();
          if (s == 401 || s == 403) {
            transport.record("token", "denied");
            return CompletableFuture.completedFuture(RegistryClient.PullCheck.DENIED);
          }
          if (s / 100 != 2) {
            UpstreamFailure f = RegistryClient.statusFailure(sent,
                "token endpoint " + sent.uri().getHost() + " answered " + s, clock.instant());
            transport.record("token", f.meterResult());
            throw f;
          }
          String token;
          try {
            token = TokenCache.value(TokenCache.readToken(sent.response().body(),
                "token endpoint " + sent.uri().getHost()));
          } catch (UpstreamFailure f) {
            transport.record("token", f.meterResult());
            throw f;
          }
          transport.record("token", "ok");
          return send(kind, probe, "Bearer " + token).thenApply(p -> answer(kind, p));
        });
  }

  private CompletableFuture<Transport.Sent<Void>> send(String kind, URI probe, String authorization) {
    return transport.send(kind, "GET", probe, Map.of(), authorization, origin,
        HttpResponse.BodyHandlers.discarding());
  }

  private RegistryClient.PullCheck answer(String kind, Transport.Sent<?> sent) {
    int s = sent.status();
    if (s / 100 == 2) {
      transport.record(kind, "ok");
      return RegistryClient.PullCheck.ALLOWED;
    }
    if (s == 401 || s == 403) {
      transport.record(kind, "denied");
      return RegistryClient.PullCheck.DENIED;
    }
    if (s == 404) {
      transport.record(kind, "not_found");
      return RegistryClient.PullCheck.NOT_FOUND;
    }
    UpstreamFailure f = RegistryClient.statusFailure(sent, null, clock.instant());
    transport.record(kind, f.meterResult());
    throw f;
  }

  private static RegistryAuth.Remembered bearerChallenge(Transport.Sent<?> sent) {
    List<WwwAuthenticate.Challenge> cs =
        WwwAuthenticate.parse(sent.response().headers().allValues("www-authenticate"));
    for (WwwAuthenticate.Challenge c : cs) {
      if (c.is("bearer") && c.param("realm") != null && !c.param("realm").isBlank()) {
        return new RegistryAuth.Remembered("bearer", c.param("realm"), c.param("service"));
      }
    }
    return null;
  }
}
