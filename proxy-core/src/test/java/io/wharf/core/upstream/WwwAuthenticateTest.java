package io.wharf.core.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.upstream.WwwAuthenticate.Challenge;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WwwAuthenticateTest {

  @Test
  void parse_dockerHubBearer_readsRealmServiceScope() {
    List<Challenge> cs =
        WwwAuthenticate.parse(
            "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                + "scope=\"repository:library/nginx:pull\"");

    assertThat(cs).hasSize(1);
    Challenge c = cs.get(0);
    assertThat(c.is("bearer")).isTrue();
    assertThat(c.param("realm")).isEqualTo("https://auth.docker.io/token");
    assertThat(c.param("service")).isEqualTo("registry.docker.io");
    assertThat(c.param("scope")).isEqualTo("repository:library/nginx:pull");
  }

  @Test
  void parse_escapedQuoteAndCommaInsideQuotes_keptInValue() {
    List<Challenge> cs =
        WwwAuthenticate.parse("Bearer realm=\"https://a/t?x=1,y=2\", error=\"say \\\"no\\\", twice\"");

    assertThat(cs).singleElement().satisfies(c -> {
      assertThat(c.param("realm")).isEqualTo("https://a/t?x=1,y=2");
      assertThat(c.param("error")).isEqualTo("say \"no\", twice");
    });
  }

  @Test
  void parse_severalChallengesInOneHeader_allReturnedInOrder() {
    List<Challenge> cs =
        WwwAuthenticate.parse("Basic realm=\"Registry Realm\", Bearer realm=\"https://t/token\",service=\"svc\"");

    assertThat(cs).extracting(Challenge::scheme).containsExactly("Basic", "Bearer");
    assertThat(cs.get(0).params()).isEqualTo(Map.of("realm", "Registry Realm"));
    assertThat(cs.get(1).param("realm")).isEqualTo("https://t/token");
    assertThat(cs.get(1).param("service")).isEqualTo("svc");
  }

  @Test
  void parse_severalHeaderValues_concatenated() {
    List<Challenge> cs = WwwAuthenticate.parse(List.of("Negotiate", "Basic realm=x"));

    assertThat(cs).extracting(Challenge::scheme).containsExactly("Negotiate", "Basic");
    assertThat(cs.get(1).param("realm")).isEqualTo("x");
  }

  @Test
  void parse_caseAndSpacing_schemeCaseInsensitiveParamNamesLowerCased() {
    List<Challenge> cs = WwwAuthenticate.parse("  BEARER   Realm = \"r\" ,  SERVICE=s  ");

    assertThat(cs).singleElement().satisfies(c -> {
      assertThat(c.is("bearer")).isTrue();
      assertThat(c.param("realm")).isEqualTo("r");
      assertThat(c.param("service")).isEqualTo("s");
    });
  }

  @Test
  void parse_unquotedUrlValue_readUpToComma() {
    List<Challenge> cs = WwwAuthenticate.parse("Bearer realm=https://gitlab.example/jwt/auth,service=container_registry");

    assertThat(cs.get(0).param("realm")).isEqualTo("https://gitlab.example/jwt/auth");
    assertThat(cs.get(0).param("service")).isEqualTo("container_registry");
  }

  @Test
  void parse_token68_keptSeparatelyFromParams() {
    List<Challenge> cs = WwwAuthenticate.parse("Negotiate abc+/def==, Basic realm=\"r\"");

    assertThat(cs).hasSize(2);
    assertThat(cs.get(0).token68()).isEqualTo("abc+/def==");
    assertThat(cs.get(0).params()).isEmpty();
    assertThat(cs.get(1).token68()).isNull();
    assertThat(cs.get(1).param("realm")).isEqualTo("r");
  }

  @Test
  void parse_unterminatedQuote_takesRest() {
    List<Challenge> cs = WwwAuthenticate.parse("Bearer realm=\"https://t/token, service=x");

    assertThat(cs.get(0).param("realm")).isEqualTo("https://t/token, service=x");
  }

  @Test
  void parse_emptyOrNull_noChallenges() {
    assertThat(WwwAuthenticate.parse((String) null)).isEmpty();
    assertThat(WwwAuthenticate.parse("   ")).isEmpty();
    assertThat(WwwAuthenticate.parse(", ,")).isEmpty();
  }

  @Test
  void parse_duplicateParam_firstWins() {
    assertThat(WwwAuthenticate.parse("Bearer realm=a, realm=b").get(0).param("realm")).isEqualTo("a");
  }
}
