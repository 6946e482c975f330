package io.wharf.core.config;

import java.nio.file.Files;
import java.nio.file.Path;
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
 */
public record AccessConfig(List<String> allow, String htpasswd, Boolean bearer) {

  public AccessConfig withDefaults() {
    return new AccessConfig(allow == null ? List.of() : List.copyOf(allow), htpasswd,
        bearer != null && bearer);
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
  }

  @com.fasterxml.jackson.annotation.JsonIgnore
  public boolean isOpen() {
    return allow.isEmpty() && htpasswd == null;
  }
}
