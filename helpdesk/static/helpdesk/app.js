// The pages' own behaviour, kept out of the markup (no inline handlers).
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target.id === "language-select" && target.form) {
    target.form.submit();
  } else if (target.id === "template-select" && target.value) {
    var body = document.getElementById("id_body");
    if (body) {
      body.value = target.options[target.selectedIndex].dataset.text;
    }
  }
});
