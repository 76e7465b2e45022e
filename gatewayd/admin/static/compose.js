/* The compose form: the live counter (characters, encoding, SMS parts) and the address-book
 * filter. The counting rules are those of gatewayd/smpp/text.py segments(): GSM-7 when every
 * character is in the GSM 03.38 basic or extension table (an extension character takes two
 * septets), 160 septets for one SMS and 153 per part beyond; otherwise UCS-2, 70 UTF-16 units
 * for one SMS and 67 per part (a character outside the BMP takes two); a character is never
 * split between parts. tests/admin/test_messages.py runs this file with node against the
 * server's segments(). Without JavaScript the server's count of the last post is shown and
 * every contact is listed. */
(function () {
  "use strict";
  var GSM_BASIC =
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var GSM_EXTENSION = "\f^{}\\[~]|€";
  var LIMITS = { "GSM-7": [160, 153], "UCS-2": [70, 67] };

  function widths(chars, encoding) {
    return chars.map(function (ch) {
      if (encoding === "GSM-7") {
        return GSM_EXTENSION.indexOf(ch) >= 0 ? 2 : 1;
      }
      return ch.codePointAt(0) > 0xffff ? 2 : 1;
    });
  }

  function isGsm(chars) {
    return chars.every(function (ch) {
      return GSM_BASIC.indexOf(ch) >= 0 || GSM_EXTENSION.indexOf(ch) >= 0;
    });
  }

  function segments(text) {
    var chars = Array.from(text); // code points, as Python counts a str
    var encoding = isGsm(chars) ? "GSM-7" : "UCS-2";
    var single = LIMITS[encoding][0];
    var multi = LIMITS[encoding][1];
    var units = widths(chars, encoding);
    var total = units.reduce(function (a, b) { return a + b; }, 0);
    var parts = 0;
    if (chars.length === 0) {
      parts = 0;
    } else if (total <= single) {
      parts = 1;
    } else {
      var used = 0;
      parts = 1;
      units.forEach(function (width) {
        if (used && used + width > multi) {
          parts += 1;
          used = 0;
        }
        used += width;
      });
    }
    return { encoding: encoding, characters: chars.length, parts: parts };
  }

  function attachCounter(doc) {
    var text = doc.getElementById("text");
    var counter = doc.getElementById("counter");
    if (!text || !counter) {
      return;
    }
    var template = counter.getAttribute("data-template") || "";
    function update() {
      var found = segments(text.value);
      counter.textContent = template
        .replace("%(characters)s", String(found.characters))
        .replace("%(encoding)s", found.encoding)
        .replace("%(parts)s", String(found.parts));
    }
    text.addEventListener("input", update);
    update();
  }

  function attachFilter(doc) {
    var filter = doc.getElementById("contact-filter");
    if (!filter) {
      return;
    }
    filter.parentElement.hidden = false;
    var choices = Array.from(doc.querySelectorAll("#contact-picker .choice"));
    filter.addEventListener("input", function () {
      var wanted = filter.value.trim().toLowerCase();
      choices.forEach(function (choice) {
        var box = choice.querySelector("input");
        var match = (choice.getAttribute("data-search") || "").indexOf(wanted) >= 0;
        choice.hidden = !(match || (box && box.checked));
      });
    });
  }

  if (typeof module !== "undefined" && module.exports) {
    module.exports = { segments: segments };
  } else if (typeof document !== "undefined") {
    attachCounter(document);
    attachFilter(document);
  }
})();
