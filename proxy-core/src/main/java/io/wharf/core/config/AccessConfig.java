package io.wharf.core.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Who may pull through one upstream.
 *
 * @param allow client networks (CIDR, e.g. {@code 10.0.0.0/8}, {@code fd00::/8}) that may pull;
 *     empty means any address
 * @param htpasswd an htpasswd file with bcrypt hashes ({@code htpasswd -B}); when set, clients
 *     must authenticate with Basic auth
 * @param bearer challenge clients with {@code Bearer} and accept tokens from Wharf's token
 *     endpoint {@code /token/<upstream>} (Docker token auth, as docker and containerd expect);
 *     needs {@code htpasswd}, whose users get the tokens; Basic stays accepted
 * @param passThrough clients send Basic credentials of the upstream itself, and each repository
 *     is served to a client only after the upstream confirmed, with those credentials, that the
 *     client may pull it; excludes {@code htpasswd} (the client has one Authorization header)
 * @param passThroughTtl how long an upstream's yes is remembered per client and repository
 *     (default 60 s; a no is remembered for at most 10 s)
 */
public record AccessConfig(List<String> allow, String htpasswd, Boolean bearer,
    Boolean passThrough, Duration passThroughTtl) {

  /** Default of {@link #passThroughTtl}. */
  public static final Duration DEFAULT_PASS_THROUGH_TTL = Duration.ofSeconds(60);

  public AccessConfig(List<String> allow, String htpasswd, Boolean bearer) {
    this(allow, htpasswd, bearer, false, DEFAULT_PASS_THROUGH_TTL);
  }

  public AccessConfig withDefaults() {
    return new AccessConfig(allow == null ? List.of() : List.copyOf(allow), htpasswd,
        bearer != null && bearer, passThrough != null && passThrough,
        passThroughTtl == null ? DEFAULT_PASS_THROUGH_TTL : passThroughTtl);
  }

  void validate(String where) {
    for (String cidr : allow) {
      try {
        io.wharf.core.access.Cidr.parse(cidr);
      } catch (IllegalArgumentException e) {
        throw new ConfigException(where + ".allow: " + e.getMessage());
      }
    }
    if (htpasswd != null && !Files.isReadable(Path.of(htpasswd))) {
      throw new ConfigException(where + ".htpasswd: cannot read " + htpasswd);
    }
    if (bearer && htpasswd == null) {
      throw new ConfigException(where + ".bearer needs htpasswd (its users are issued the tokens)");
    }
    if (passThrough && htpasswd != null) {
      throw new ConfigException(where + ".passThrough cannot be combined with htpasswd: clients"
          + " send the upstream's credentials, not Wharf's");
    }
    if (passThroughTtl.isNegative() || passThroughTtl.isZero()) {
      throw new ConfigException(where + ".passThroughTtl must be positive");
    }
  }

  @com.fasterxml.jackson.annotation.JsonIgnore
  public boolean isOpen() {
    return allow.isEmpty() && htpasswd == null && !passThrough;
  }
}
