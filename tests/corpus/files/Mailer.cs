using System.Net;
using System.Net.Mail;

var smtp = new SmtpClient("smtp.acme-corp.com", 587)
{
    EnableSsl = true,
    Credentials = new NetworkCredential("mailer@acme-corp.com", "q!dUhX2Bkf0D")
};
var fromConfig = new NetworkCredential(config["Smtp:User"], config["Smtp:Password"]);
