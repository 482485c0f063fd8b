using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace KeelPortal.Migrations
{
    /// <inheritdoc />
    public partial class ApplyClaimToken : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "ClaimToken",
                table: "Approvals",
                type: "TEXT",
                maxLength: 40,
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "ClaimToken",
                table: "Approvals");
        }
    }
}
