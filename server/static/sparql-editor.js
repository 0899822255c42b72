/*
 * The query page's editor: YASGUI, served by this server, set up to ask no other host.
 *
 * The page works without this file (a plain form). With it, YASGUI replaces the form's
 * text area; the form's Run button still sends the editor's query for the table page or
 * a download. What YASGUI would fetch elsewhere comes from the page itself, in the JSON
 * of #sparql-editor-config (server/sparql/editor.py): the prefixes it completes and
 * declares on its own when a known prefix is typed (instead of prefix.cc), the classes
 * and properties it completes (instead of LOV), this endpoint as the only one, the
 * examples. A query the server refuses gets its error beside it, the position marked,
 * and, for an undeclared prefix, a button that adds the declaration.
 */
(function () {
  "use strict";

  var configElement = document.getElementById("sparql-editor-config");
  var root = document.getElementById("yasgui");
  var form = document.getElementById("sparql-form");
  var textarea = document.getElementById("query");
  if (!window.Yasgui || !configElement || !root || !form || !textarea) {
    return; // the plain form stays as it is
  }
  var config = JSON.parse(configElement.textContent);
  var Yasqe = window.Yasgui.Yasqe;

  /* Completers: this server's lists, in place of the ones that call other hosts. */
  function ourCompleter(name, changes) {
    Yasqe.registerAutocompleter(Object.assign({}, Yasqe.Autocompleters[name], changes), true);
  }
  var prefixLines = Object.keys(config.prefixes).sort().map(function (prefix) {
    return prefix + ": <" + config.prefixes[prefix] + ">";
  });
  ourCompleter("prefixes", { get: prefixLines, persistenceId: null });
  ourCompleter("class", { get: config.classes, bulk: true, autoShow: true });
  ourCompleter("property", { get: config.properties, bulk: true, autoShow: true });

  var yasgui = new window.Yasgui(root, {
    persistenceId: null, // the editor starts with the page's query, not an old one
    // Links made by the share button (…/sparql#query=…) open their query; without a hash,
    // YASGUI would read the page's own query string (?query=…&format=html) and run it.
    populateFromUrl: window.location.hash.length > 1,
    copyEndpointOnNewTab: true,
    endpointCatalogueOptions: {
      getData: function () {
        return [{ endpoint: config.endpoint }];
      },
    },
    requestConfig: { endpoint: config.endpoint, method: "POST" },
    yasqe: { value: config.query, persistenceId: null, collapsePrefixesOnLoad: true },
    yasr: { persistenceId: null, prefixes: config.prefixes },
  });
  document.body.classList.add("editor-on");

  function currentYasqe() {
    return yasgui.getTab().getYasqe();
  }

  /* The form's Run button sends what the editor holds. */
  form.addEventListener("submit", function () {
    textarea.value = currentYasqe().getValue();
  });

  /* Examples load into the editor, without a round trip. */
  config.examples.forEach(function (example) {
    var link = document.getElementById("example-" + example.name);
    if (!link) {
      return;
    }
    link.addEventListener("click", function (event) {
      event.preventDefault();
      currentYasqe().setValue(example.sparql);
      root.scrollIntoView();
    });
  });

  /* Our IRIs lead to this server's pages. */
  function pageLinks(element) {
    element.querySelectorAll("a[href^='" + config.base + "']").forEach(function (link) {
      link.href = config.pages + link.getAttribute("href").slice(config.base.length);
      link.removeAttribute("target");
    });
  }
  new MutationObserver(function () {
    pageLinks(root);
  }).observe(root, { childList: true, subtree: true });

  /* Errors, beside the query. */
  var shown = null;
  function clearError() {
    if (shown) {
      shown.box.remove();
      shown.marks.forEach(function (clear) {
        clear();
      });
      shown = null;
    }
  }
  function showError(yasqe, error) {
    clearError();
    var box = document.createElement("div");
    box.className = "query-error";
    box.id = "editor-error";
    box.setAttribute("role", "alert");
    var message = document.createElement("p");
    message.className = "message";
    message.textContent = error.message;
    box.appendChild(message);
    var marks = [];
    if (error.declaration) {
      var declaration = document.createElement("pre");
      declaration.className = "declaration";
      declaration.textContent = error.declaration;
      box.appendChild(declaration);
      var add = document.createElement("button");
      add.type = "button";
      add.className = "add-declaration";
      add.textContent = "Add this declaration";
      add.addEventListener("click", function () {
        yasqe.addPrefixes(error.declaration.replace(/^PREFIX\s+/, ""));
        clearError();
      });
      box.appendChild(add);
    }
    if (error.line) {
      var line = error.line - 1;
      var from = { line: line, ch: Math.max(error.column - 1, 0) };
      var token = yasqe.getTokenAt({ line: line, ch: from.ch + 1 });
      var to = { line: line, ch: Math.max(token.end, from.ch + 1) };
      var mark = yasqe.markText(from, to, { className: "query-error-mark" });
      yasqe.addLineClass(line, "background", "query-error-line");
      marks.push(function () {
        mark.clear();
        yasqe.removeLineClass(line, "background", "query-error-line");
      });
    }
    var wrapper = yasqe.getWrapperElement();
    wrapper.parentNode.insertBefore(box, wrapper.nextSibling);
    shown = { box: box, marks: marks };
  }
  function errorOf(response) {
    var body = response && response.response;
    if (!body || response.status < 400) {
      return null;
    }
    if (body.body && typeof body.body.message === "string") {
      return body.body;
    }
    return { message: (body.text || response.message || "The query failed.").trim() };
  }
  var watched = [];
  function watch(yasqe) {
    if (watched.indexOf(yasqe) >= 0) {
      return;
    }
    watched.push(yasqe);
    yasqe.on("queryResponse", function (instance, response) {
      var error = errorOf(response);
      if (error) {
        showError(instance, error);
      } else {
        clearError();
      }
    });
    yasqe.on("change", clearError);
  }
  yasgui.on("query", function (instance, tab) {
    clearError();
    watch(tab.getYasqe());
  });
  watch(currentYasqe());

  /* The error the server found in the form's query, now in the editor. */
  var served = document.getElementById("query-error");
  if (config.error && served) {
    served.remove();
    showError(currentYasqe(), config.error);
  }
})();
