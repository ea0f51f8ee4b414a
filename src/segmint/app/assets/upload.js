// Upload page: send the chosen (or dropped) file to the server as raw bytes in one POST, so the server
// streams it to disk instead of receiving base64 text through a callback; then hand the server's
// answer ({token, filename, size}) to the page's callbacks through the upload-accepted store.
(function () {
    function prefix() {
        const config = document.getElementById("_dash-config");
        return (config && JSON.parse(config.textContent).requests_pathname_prefix) || "/";
    }

    function say(text) {
        window.dash_clientside.set_props("upload-size-message", {children: text});
    }

    function send(file, maxMb) {
        if (!file) { return; }
        if (maxMb && file.size > maxMb * 1048576) {
            say(`${file.name} is ${(file.size / 1048576).toFixed(1)} MB; the upload limit is ${maxMb} MB. ` +
                "Start the dashboard with a higher upload limit, or open big files directly.");
            return;
        }
        const request = new XMLHttpRequest();
        request.open("POST", prefix() + "_segmint/upload?name=" + encodeURIComponent(file.name));
        request.upload.onprogress = (event) => {
            if (event.lengthComputable) { say(""); setStatus(`uploading ${file.name}: ${Math.round(100 * event.loaded / event.total)}%`); }
        };
        request.onload = () => {
            setStatus("");
            let answer = {};
            try { answer = JSON.parse(request.responseText); } catch (error) { answer = {}; }
            if (request.status === 200 && answer.token) {
                say("");
                window.dash_clientside.set_props("upload-accepted", {data: answer});
            } else {
                say(answer.error || `${file.name} could not be uploaded (HTTP ${request.status}).`);
            }
        };
        request.onerror = () => { setStatus(""); say(`${file.name} could not be uploaded: the server did not answer.`); };
        setStatus(`uploading ${file.name} ...`);
        request.send(file);
    }

    function setStatus(text) {
        const box = document.getElementById("upload-file");
        if (box) { box.setAttribute("data-status", text); box.classList.toggle("uploading", Boolean(text)); }
    }

    function maxMb() {
        const box = document.getElementById("upload-file");
        return box ? parseFloat(box.getAttribute("data-max-mb") || "0") : 0;
    }

    // Dash has no file input component: give the upload box one whenever the page shows it
    function addInput() {
        const box = document.getElementById("upload-file");
        if (box && !document.getElementById("upload-input")) {
            const input = document.createElement("input");
            input.type = "file";
            input.id = "upload-input";
            input.accept = box.getAttribute("data-accept") || "";
            input.className = "d-none";
            box.appendChild(input);
        }
    }
    new MutationObserver(addInput).observe(document.documentElement, {childList: true, subtree: true});

    document.addEventListener("change", (event) => {
        if (event.target && event.target.id === "upload-input") {
            send(event.target.files[0], maxMb());
            event.target.value = "";  // choosing the same file again uploads it again
        }
    });
    document.addEventListener("dragover", (event) => {
        if (event.target.closest && event.target.closest("#upload-file")) { event.preventDefault(); }
    });
    document.addEventListener("drop", (event) => {
        if (event.target.closest && event.target.closest("#upload-file")) {
            event.preventDefault();
            send(event.dataTransfer.files[0], maxMb());
        }
    });
})();
