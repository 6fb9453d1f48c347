// Progressive enhancements. Everything works without this file.
"use strict";

// Ask before a destructive button's form is sent: <form data-confirm="Are you sure?">.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
