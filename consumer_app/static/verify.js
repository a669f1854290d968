import { api, explain, t } from "./app.js";

const status = document.getElementById("verify-status");
const token = new URLSearchParams(location.search).get("token");

function show(message, className) {
  const paragraph = document.createElement("p");
  paragraph.className = className;
  paragraph.textContent = message;
  status.replaceChildren(paragraph);
}

if (!token) {
  show(t.link_incomplete, "warning");
} else {
  try {
    await api.post("/auth/verify-email", { token }, { auth: false });
    show(t.verify_done, "success");
  } catch (error) {
    const linkProblem = error.code && error.code.startsWith("email_token_");
    show(linkProblem ? t.verify_failed : explain(error), "error");
  }
}
