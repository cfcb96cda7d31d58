// What a person does on the Learn tab: open a lesson (from the list, or a "next" button).
import { $ } from "../dom.js";
import { LESSONS } from "./lessons.js";
import { drawLesson, renderLinks } from "./render.js";
import { learn, syncUrl } from "./state.js";

/** Make id the lesson shown (an unknown one: the first): its article, its place in the list, the URL. */
export function selectLesson(id) {
  if (!LESSONS.includes(id)) id = LESSONS[0];
  learn.lesson = id;
  for (const article of document.querySelectorAll(".lesson")) article.hidden = article.dataset.lesson !== id;
  for (const button of document.querySelectorAll(".learn-item")) {
    if (button.dataset.lesson !== id) {
      button.removeAttribute("aria-current");
      continue;
    }
    button.setAttribute("aria-current", "step");
    // On a phone the list is one row that scrolls sideways: bring the open lesson into it.
    const list = button.closest(".learn-list");
    if (list.scrollWidth > list.clientWidth) list.scrollTo({ left: button.parentElement.offsetLeft - list.offsetLeft - 8 });
  }
  syncUrl();
  return id;
}

/** Show lesson id with its numbers drawn; byPerson: scroll to its top and focus its title. */
export function openLesson(id, byPerson = false) {
  id = selectLesson(id);
  renderLinks();
  drawLesson(id);
  if (byPerson) {
    $("learn-body").scrollTop = 0;
    const article = $(`lesson-${id}`);
    // stacked on a phone, the page itself scrolls: back to the top of the lesson when it is above
    if (article.getBoundingClientRect().top < 0) article.scrollIntoView({ block: "start" });
    article.querySelector(".lesson-title").focus({ preventScroll: true });
  }
}
