// A "tick all" box: <input type="checkbox" data-check-all="NAME"> ticks or clears every checkbox named NAME.
document.querySelectorAll("[data-check-all]").forEach((box) => {
  const others = () => document.querySelectorAll(`input[type=checkbox][name="${box.dataset.checkAll}"]`);
  box.addEventListener("change", () => others().forEach((other) => { other.checked = box.checked; }));
});
